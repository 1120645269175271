/**
 * @internal Values the upstream said must not be stored (`Cache-Control: no-store`, `private`,
 * `Vary: *`): the loader hands them to their callers but keeps them in neither its cache nor the
 * shared tier (its fetch answers `store: false`). A value is marked by identity, so only the object the load returned is affected.
 */
const marked = new WeakSet<object>()

/** @internal Marks `value` (an object) as not to be stored; returns it. */
export function markNoStore<V>(value: V): V {
  if (typeof value === 'object' && value !== null) marked.add(value)
  return value
}

/** @internal Whether `value` was marked by {@link markNoStore}. */
export function isNoStore(value: unknown): boolean {
  return typeof value === 'object' && value !== null && marked.has(value)
}
