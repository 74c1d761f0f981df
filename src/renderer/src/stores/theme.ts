/** Light or dark theme: follows the system until chosen, then kept in localStorage. */
import { defineStore } from 'pinia'
import { ref, watch } from 'vue'

export type Theme = 'light' | 'dark'
const KEY = 'fedlora.theme'

function initial(): Theme {
  try {
    const saved = localStorage.getItem(KEY)
    if (saved === 'light' || saved === 'dark') return saved
  } catch {
    /* storage disabled */
  }
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
}

export const useThemeStore = defineStore('theme', () => {
  const theme = ref<Theme>(initial())
  watch(
    theme,
    (t) => {
      document.documentElement.dataset.theme = t
      try {
        localStorage.setItem(KEY, t)
      } catch {
        /* ignore */
      }
    },
    { immediate: true }
  )
  function toggle(): void {
    theme.value = theme.value === 'dark' ? 'light' : 'dark'
  }
  return { theme, toggle }
})
