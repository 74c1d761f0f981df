/**
 * ECharts, tree-shaken: line, bar, heatmap and parallel-coordinates charts, grid, legend, tooltip,
 * visual map, canvas renderer; nothing else. Also a read-only inspection hook for the e2e tests:
 * `window.fedloraChart(testid)` returns the group and the option (as JSON) of the chart in the
 * element with that data-testid.
 */
import { BarChart, HeatmapChart, LineChart, ParallelChart } from 'echarts/charts'
import type { BarSeriesOption, HeatmapSeriesOption, LineSeriesOption, ParallelSeriesOption } from 'echarts/charts'
import { GridComponent, LegendComponent, ParallelComponent, TooltipComponent, VisualMapComponent } from 'echarts/components'
import type { GridComponentOption, LegendComponentOption, ParallelComponentOption, TooltipComponentOption, VisualMapComponentOption } from 'echarts/components'
import { connect, getInstanceByDom, init, use, type ComposeOption, type ECharts } from 'echarts/core'
import { CanvasRenderer } from 'echarts/renderers'

use([LineChart, BarChart, HeatmapChart, ParallelChart, GridComponent, LegendComponent, TooltipComponent, VisualMapComponent, ParallelComponent, CanvasRenderer])

/** Line and bar charts on a grid (PlotChart). */
export type ChartOption = ComposeOption<LineSeriesOption | BarSeriesOption | GridComponentOption | LegendComponentOption | TooltipComponentOption>
/** Heatmaps on a grid (HeatmapChart). */
export type HeatmapOption = ComposeOption<HeatmapSeriesOption | GridComponentOption | TooltipComponentOption | VisualMapComponentOption>
/** Parallel coordinates (ParallelChart). */
export type ParallelOption = ComposeOption<ParallelSeriesOption | ParallelComponentOption | TooltipComponentOption | VisualMapComponentOption>

declare global {
  interface Window {
    fedloraChart?: (testid: string) => { group: string | null; option: Record<string, unknown> } | null
  }
}

window.fedloraChart = (testid) => {
  const el = document.querySelector(`[data-testid="${CSS.escape(testid)}"] .canvas`)
  const chart = el instanceof HTMLElement ? getInstanceByDom(el) : undefined
  if (!chart) return null
  // JSON drops the formatter functions: plain data for page.evaluate
  return { group: (chart as unknown as { group?: string }).group ?? null, option: JSON.parse(JSON.stringify(chart.getOption())) }
}

export { connect, init, type ECharts }
