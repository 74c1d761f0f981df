/** Plain series the chart component draws: what views hand it, no ECharts types. */
export interface PlotSeries {
  name: string
  data: [number, number | null][]
  kind?: 'line' | 'bar'
  /** Series with the same stack id are stacked (areas). */
  stack?: string
  area?: boolean
  /** 1 = the right-hand y axis. */
  yAxis?: 0 | 1
  dashed?: boolean
  step?: boolean
}

export interface PlotAxes {
  x: string
  y: string
  y2?: string
  xLog?: boolean
  /** x is a round number: integer ticks. */
  xRound?: boolean
  yMin?: number
  yMax?: number
}
