/**
 * The chart controls shared by the Run and Compare views: x axis, smoothing (EMA weight) and log
 * scale. Kept in localStorage, like a TensorBoard session's settings.
 */
import { defineStore } from 'pinia'
import { computed, ref, watch } from 'vue'
import type { PlotControls } from '../charts/types'
import { X_AXES, type XAxisKind } from '../lib/series'

const KEY = 'fedlora.charts'

interface Saved {
  x: XAxisKind
  smoothing: number
  logY: boolean
}

function load(): Saved {
  const d: Saved = { x: 'round', smoothing: 0, logY: false }
  try {
    const s = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Saved>
    if (X_AXES.some((a) => a.value === s.x)) d.x = s.x as XAxisKind
    if (typeof s.smoothing === 'number' && s.smoothing >= 0 && s.smoothing < 1) d.smoothing = s.smoothing
    if (typeof s.logY === 'boolean') d.logY = s.logY
  } catch {
    /* storage disabled or garbage: defaults */
  }
  return d
}

export const useChartPrefs = defineStore('chartPrefs', () => {
  const saved = load()
  const x = ref<XAxisKind>(saved.x)
  const smoothing = ref(saved.smoothing)
  const logY = ref(saved.logY)
  watch([x, smoothing, logY], () => {
    try {
      localStorage.setItem(KEY, JSON.stringify({ x: x.value, smoothing: smoothing.value, logY: logY.value }))
    } catch {
      /* ignore */
    }
  })
  const controls = computed<PlotControls>(() => ({ smoothing: smoothing.value, logY: logY.value }))
  return { x, smoothing, logY, controls }
})
