/**
 * The app's views, defined once: the hash route, the navigation label, the keyboard shortcut and
 * the Help text's name all come from this table (router.ts, App.vue, HelpView.vue).
 */
export const VIEWS = [
  { view: 'runs', label: 'Runs', key: 'r', nav: true },
  { view: 'new', label: 'New run', key: 'n', nav: true },
  { view: 'run', label: 'Run', key: null, nav: false },
  { view: 'compare', label: 'Compare', key: 'c', nav: true },
  { view: 'sweeps', label: 'Sweeps', key: 's', nav: true },
  { view: 'help', label: 'Help', key: '?', nav: true }
] as const

export type ViewName = (typeof VIEWS)[number]['view']

/** The views in the navigation bar, with their hash links. */
export const NAV = VIEWS.filter((v) => v.nav).map((v) => ({ ...v, href: `#/${v.view}` }))

/** Keyboard shortcut -> the view's hash path. */
export const SHORTCUTS: Record<string, string> = Object.fromEntries(VIEWS.filter((v) => v.key !== null).map((v) => [v.key, `/${v.view}`]))

export function isViewName(s: string | undefined): s is ViewName {
  return VIEWS.some((v) => v.view === s)
}
