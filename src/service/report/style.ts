/**
 * One figure style for every report: Okabe-Ito colours (distinguishable with the common colour
 * vision deficiencies, Okabe & Ito 2008) with a marker and dash per run for grey-scale print,
 * paper sizes for one- and two-column layouts, units on every axis, rendered by ECharts'
 * server-side SVG renderer (no browser, no DOM).
 */
import * as echarts from 'echarts';

/** Okabe-Ito, reordered so the first colours are the strongest on white; yellow last. */
export const PALETTE = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00', '#56B4E9', '#000000', '#F0E442'];
export const SYMBOLS = ['circle', 'rect', 'triangle', 'diamond', 'emptyCircle', 'emptyRect', 'emptyTriangle', 'emptyDiamond'];
const DASHES: ('solid' | 'dashed' | 'dotted')[] = ['solid', 'dashed', 'dotted'];
/** No quoted family names: the SVG renderer writes this into a double-quoted attribute. */
export const FONT = 'Helvetica, Arial, Liberation Sans, DejaVu Sans, sans-serif';
export const INK = '#222222';
export const GRID_LINE = '#e3e3e3';

/** CSS pixels per inch (SVG user units are CSS pixels). */
export const PX_PER_IN = 96;

export type FigureSize = 'one' | 'two';
/** One column of a two-column paper (3.5 in) and the full text width (7 in). */
export const SIZES: Record<FigureSize, { widthIn: number; heightIn: number; fontPx: number }> = {
  one: { widthIn: 3.5, heightIn: 2.6, fontPx: 10 },
  two: { widthIn: 7, heightIn: 3.2, fontPx: 11 },
};

export function pixelSize(size: FigureSize): { width: number; height: number } {
  return { width: Math.round(SIZES[size].widthIn * PX_PER_IN), height: Math.round(SIZES[size].heightIn * PX_PER_IN) };
}

/** Line look of the i-th run: colour, marker, and a dash once the colours repeat. */
export function runStyle(i: number): { color: string; symbol: string; type: 'solid' | 'dashed' | 'dotted' } {
  return { color: PALETTE[i % PALETTE.length], symbol: SYMBOLS[i % SYMBOLS.length], type: DASHES[Math.floor(i / PALETTE.length) % DASHES.length] };
}

const SUP: Record<string, string> = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };
/** 10^k for log-axis ticks at powers of ten, the number otherwise. */
export function powerOfTen(v: number): string {
  if (v <= 0) return String(v);
  const k = Math.log10(v);
  if (Math.abs(k - Math.round(k)) < 1e-9) return '10' + String(Math.round(k)).split('').map((c) => SUP[c] ?? c).join('');
  return compact(v);
}

/** Short tick labels: 0.25, 1.5k, 2M. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e9) return +(v / 1e9).toPrecision(3) + 'G';
  if (a >= 1e6) return +(v / 1e6).toPrecision(3) + 'M';
  if (a >= 1e4) return +(v / 1e3).toPrecision(3) + 'k';
  return String(+v.toPrecision(4));
}

export interface AxisSpec {
  name: string;
  type?: 'value' | 'log' | 'category';
  min?: number;
  max?: number;
  data?: string[];
  /** Integer ticks (rounds, ranks). */
  integer?: boolean;
  percent?: boolean;
  position?: 'left' | 'right';
  gridIndex?: number;
}

export function axis(spec: AxisSpec, fontPx: number, dir: 'x' | 'y'): Record<string, unknown> {
  const type = spec.type ?? 'value';
  const label: Record<string, unknown> = { color: INK, fontSize: fontPx - 1, fontFamily: FONT, hideOverlap: true };
  if (type === 'log') label.formatter = powerOfTen;
  else if (spec.percent) label.formatter = (v: number) => `${+(v * 100).toFixed(1)}`;
  else if (type === 'value') label.formatter = compact;
  return {
    type, name: spec.name, min: spec.min, max: spec.max, data: spec.data, position: spec.position, gridIndex: spec.gridIndex ?? 0,
    nameLocation: 'middle', nameGap: dir === 'x' ? fontPx + 8 : fontPx * 3 + 6,
    nameTextStyle: { color: INK, fontSize: fontPx, fontFamily: FONT },
    minInterval: spec.integer ? 1 : undefined,
    scale: type === 'value' && spec.min === undefined,
    axisLine: { show: true, onZero: false, lineStyle: { color: INK, width: 0.8 } },
    axisTick: { show: true, inside: true, lineStyle: { color: INK, width: 0.8 } },
    axisLabel: label,
    splitLine: { show: dir === 'y' && spec.position !== 'right', lineStyle: { color: GRID_LINE, width: 0.6 } },
  };
}

/** Defaults shared by every figure; a figure's option is merged over these. */
export function baseOption(size: FigureSize, legend: boolean): Record<string, unknown> {
  const { fontPx } = SIZES[size];
  return {
    animation: false,
    backgroundColor: '#ffffff',
    color: PALETTE,
    textStyle: { fontFamily: FONT, color: INK, fontSize: fontPx },
    legend: legend ? { show: true, top: 2, left: 'center', itemWidth: 18, itemHeight: 8, itemGap: 8, textStyle: { fontSize: fontPx - 1, color: INK, fontFamily: FONT } } : { show: false },
    grid: { left: fontPx * 4 + 10, right: 14, top: legend ? fontPx * 2 + 14 : 12, bottom: fontPx * 2 + 18, containLabel: false },
  };
}

/** Make every id in an SVG unique to `prefix` (several inline SVGs share one HTML document). */
export function prefixIds(svg: string, prefix: string): string {
  return svg
    .replace(/\bid="([^"]+)"/g, (_m, id) => `id="${prefix}-${id}"`)
    .replace(/url\(#([^)]+)\)/g, (_m, id) => `url(#${prefix}-${id})`)
    .replace(/(xlink:)?href="#([^"]+)"/g, (_m, x, id) => `${x ?? ''}href="#${prefix}-${id}"`);
}

/** Render an ECharts option to an SVG string of a paper size (width/height in inches, px viewBox). */
export function renderSvg(option: Record<string, unknown>, size: FigureSize, idPrefix: string): string {
  const { width, height } = pixelSize(size);
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption(option as echarts.EChartsOption);
    let svg = chart.renderToSVGString();
    svg = svg.replace(/^<svg width="\d+(\.\d+)?" height="\d+(\.\d+)?"/, `<svg width="${SIZES[size].widthIn}in" height="${SIZES[size].heightIn}in"`);
    return prefixIds(svg, idPrefix);
  } finally {
    chart.dispose();
  }
}
