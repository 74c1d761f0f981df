/**
 * The server-mode token: read from `?token=` in the address once, kept in sessionStorage (so a
 * reload or a hash navigation keeps working), and removed from the visible address.
 */
const KEY = 'fedlora.token'

export function readToken(loc: Location = window.location, storage: Storage = window.sessionStorage): string {
  const fromUrl = new URLSearchParams(loc.search).get('token')
  if (fromUrl) {
    try {
      storage.setItem(KEY, fromUrl)
    } catch {
      /* storage disabled: the URL keeps it */
      return fromUrl
    }
    const params = new URLSearchParams(loc.search)
    params.delete('token')
    const rest = params.toString()
    history.replaceState(history.state, '', `${loc.pathname}${rest ? `?${rest}` : ''}${loc.hash}`)
    return fromUrl
  }
  try {
    return storage.getItem(KEY) ?? ''
  } catch {
    return ''
  }
}
