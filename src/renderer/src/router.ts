/**
 * A tiny hash router: `#/runs?q=text`, `#/new`, `#/run/<id>`, `#/compare?ids=a,b`, `#/sweeps`, `#/help`.
 * Hash URLs work both from file:// in Electron and from the local server, and survive reloads.
 */
import { shallowRef, type Ref } from 'vue'

export type ViewName = 'runs' | 'new' | 'run' | 'compare' | 'sweeps' | 'help'

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
  switch (parts[0]) {
    case 'new':
      return { view: 'new', query }
    case 'run':
      return parts[1] ? { view: 'run', id: parts[1], query } : { view: 'runs', query }
    case 'compare':
      return { view: 'compare', query }
    case 'sweeps':
      return { view: 'sweeps', query }
    case 'help':
      return { view: 'help', query }
    default:
      return { view: 'runs', query }
  }
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
