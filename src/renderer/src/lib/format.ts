/** Number and time formatting for tables and tooltips (units in the text). */

export function fmtPct(v: number | null | undefined, digits = 1): string {
  return typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(digits)}%` : '—'
}

export function fmtNum(v: unknown, digits = 3): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v === null || v === undefined ? '—' : String(v)
  if (v !== 0 && (Math.abs(v) >= 1e6 || Math.abs(v) < 1e-3)) return v.toExponential(2)
  return Number.isInteger(v) ? String(v) : v.toFixed(digits)
}

const BIT_UNITS = ['bit', 'kbit', 'Mbit', 'Gbit', 'Tbit']

/** Bits with a decimal SI prefix: 1.23 Mbit. */
export function fmtBits(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—'
  let x = v
  let i = 0
  while (Math.abs(x) >= 1000 && i < BIT_UNITS.length - 1) {
    x /= 1000
    i++
  }
  return `${i === 0 ? x.toFixed(0) : x.toFixed(2)} ${BIT_UNITS[i]}`
}

/** Seconds as s / min / h. */
export function fmtSeconds(v: number | null | undefined): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—'
  if (v < 1) return `${(v * 1000).toFixed(0)} ms`
  if (v < 120) return `${v.toFixed(1)} s`
  if (v < 7200) return `${(v / 60).toFixed(1)} min`
  return `${(v / 3600).toFixed(1)} h`
}

export function fmtDate(iso: string | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`
}

/** Compact axis tick: 1.5k, 2M, 3G; small values to 3 significant digits. */
export function fmtAxis(v: number): string {
  const a = Math.abs(v)
  const trim = (x: number) => String(Number(x.toPrecision(3)))
  if (a >= 1e12) return `${trim(v / 1e12)}T`
  if (a >= 1e9) return `${trim(v / 1e9)}G`
  if (a >= 1e6) return `${trim(v / 1e6)}M`
  if (a >= 1e4) return `${trim(v / 1e3)}k`
  return trim(v)
}

/** A tooltip value in the chart's unit (percent values are already x100). */
export function fmtValue(v: unknown, format: 'num' | 'pct' | 'seconds' | 'bits' | 'ms' = 'num'): string {
  if (typeof v !== 'number' || !Number.isFinite(v)) return '—'
  switch (format) {
    case 'pct':
      return `${v.toFixed(2)}%`
    case 'seconds':
      return v < 1 ? `${(v * 1000).toFixed(1)} ms` : `${v.toFixed(3)} s`
    case 'bits':
      return fmtBits(v)
    case 'ms':
      return `${v.toFixed(0)} ms`
    default:
      return fmtNum(v, 4)
  }
}
