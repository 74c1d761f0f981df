/** Plain series the chart component draws: what views hand it, no ECharts types. */
export interface PlotSeries {
  name: string
  data: [number, number | null][]
  kind?: 'line' | 'bar'
  /** Series with the same stack id are stacked (areas or bars). */
  stack?: string
  area?: boolean
  /** 1 = the right-hand y axis. */
  yAxis?: 0 | 1
  dashed?: boolean
  step?: boolean
  /** Follows the smoothing slider (drawn smoothed, with the raw line faint behind it). */
  smooth?: boolean
}

/** How tooltip values are written. */
export type ValueFormat = 'num' | 'pct' | 'seconds' | 'bits' | 'ms'

export interface PlotAxes {
  x: string
  y: string
  y2?: string
  xLog?: boolean
  /** x is a round number: integer ticks. */
  xRound?: boolean
  /** x is a category index: ticks labelled with these names. */
  xLabels?: string[]
  yMin?: number
  yMax?: number
  /** This chart may use a log y axis (the log-scale toggle). */
  yLogOk?: boolean
  format?: ValueFormat
}

/** The chart controls every series chart follows (set above the charts). */
export interface PlotControls {
  /** EMA weight 0..0.99 for series with `smooth`. */
  smoothing: number
  logY: boolean
}
