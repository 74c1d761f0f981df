/**
 * A small memo for things read from disk at config validation (the app's form validates on every
 * edit): `make()` runs once per key, its error is remembered too (a broken file fails the same way
 * again), and the oldest entry goes once the map holds more than `max`.
 */
export type Memo<T> = Map<string, T | { error: unknown }>;

export function memo<T extends object>(cache: Memo<T>, key: string, make: () => T, max: number): { value: T; fresh: boolean } {
  let hit = cache.get(key);
  const fresh = !hit;
  if (!hit) {
    try { hit = make(); } catch (error) { hit = { error }; }
    if (cache.size > max) cache.delete(cache.keys().next().value!);
    cache.set(key, hit);
  }
  if ('error' in hit) throw hit.error;
  return { value: hit as T, fresh };
}
