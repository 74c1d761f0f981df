/** Series colours (Okabe-Ito, colour-blind safe, then a few more): a raw line and its smoothed line share one. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#8C6D31', '#666666', '#7B3294', '#1B9E77']

export const colorAt = (i: number): string => PALETTE[i % PALETTE.length]
