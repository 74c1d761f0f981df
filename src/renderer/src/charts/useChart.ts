/**
 * One ECharts instance on a component's element: created in the app's theme (and again when the
 * theme changes), redrawn at most once per animation frame, resized with its box, disposed with the
 * component. `option()` builds the whole option from the component's props.
 */
import { onBeforeUnmount, onMounted, watch, type Ref } from 'vue'
import { init, type ECharts } from './echarts'
import { useThemeStore } from '../stores/theme'

export interface ChartHandle {
  /** Redraw on the next animation frame (coalesced). */
  schedule(): void
}

export function useChart(
  el: Ref<HTMLElement | null>,
  option: () => Parameters<ECharts['setOption']>[0],
  opts: { setOptions?: Parameters<ECharts['setOption']>[1]; onCreate?: (chart: ECharts) => void } = {}
): ChartHandle {
  const theme = useThemeStore()
  let chart: ECharts | null = null
  let frame = 0
  let resizeObs: ResizeObserver | null = null

  function draw(): void {
    frame = 0
    chart?.setOption(option(), opts.setOptions ?? { notMerge: true })
  }
  function schedule(): void {
    if (!frame) frame = requestAnimationFrame(draw)
  }
  function create(): void {
    if (!el.value) return
    chart?.dispose()
    chart = init(el.value, theme.theme === 'dark' ? 'dark' : undefined, { renderer: 'canvas' })
    opts.onCreate?.(chart)
    draw()
  }
  onMounted(() => {
    create()
    resizeObs = new ResizeObserver(() => chart?.resize())
    if (el.value) resizeObs.observe(el.value)
  })
  onBeforeUnmount(() => {
    if (frame) cancelAnimationFrame(frame)
    resizeObs?.disconnect()
    chart?.dispose()
    chart = null
  })
  watch(() => theme.theme, create)
  return { schedule }
}
