import { ref } from 'vue'
import { errorText } from '../api'

/** A button's call to the service: `busy` while it runs, `error` with the message if it throws. */
export function useAction() {
  const busy = ref(false)
  const error = ref<string | null>(null)
  async function run<T>(fn: () => Promise<T>, onError?: (e: unknown) => void): Promise<T | undefined> {
    busy.value = true
    error.value = null
    try {
      return await fn()
    } catch (e) {
      error.value = errorText(e)
      onError?.(e)
      return undefined
    } finally {
      busy.value = false
    }
  }
  return { busy, error, run }
}
