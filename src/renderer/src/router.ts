/**
 * A tiny hash router: `#/runs?q=text`, `#/new`, `#/run/<id>`, `#/compare?ids=a,b`, `#/sweeps`, `#/help`.
 * Hash URLs work both from file:// in Electron and from the local server, and survive reloads.
 */
import { shallowRef, type Ref } from 'vue'
import { isViewName, type ViewName } from './views'

export type { ViewName }

export interface Route {
  view: ViewName
  /** Run id for the run view. */
  id?: string
  query: URLSearchParams
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '')
  const [path, qs = ''] = h.split('?', 2)
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  const query = new URLSearchParams(qs)
  if (parts[0] === 'run') return parts[1] ? { view: 'run', id: parts[1], query } : { view: 'runs', query }
  return { view: isViewName(parts[0]) ? parts[0] : 'runs', query }
}

const current = shallowRef<Route>(parseHash(window.location.hash))
window.addEventListener('hashchange', () => {
  current.value = parseHash(window.location.hash)
})

/** The current route (read it; change it with navigate). */
export const route: Readonly<Ref<Route>> = current

export function navigate(to: string): void {
  const hash = to.startsWith('#') ? to : `#${to}`
  if (window.location.hash === hash) current.value = parseHash(hash)
  else window.location.hash = hash
}

export const runHref = (id: string) => `#/run/${encodeURIComponent(id)}`
export const compareHref = (ids: string[]) => `#/compare?ids=${ids.map(encodeURIComponent).join(',')}`
