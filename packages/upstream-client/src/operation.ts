import type { Call } from './call.js'

/**
 * @internal Most operations a per-operation policy keeps state for; further operation names
 * share the state of {@link OTHER_OPERATION}, so callers cannot grow it without bound.
 */
export const MAX_OPERATIONS = 100

/** @internal The shared key of operations beyond {@link MAX_OPERATIONS}. */
export const OTHER_OPERATION = '(other)'

/**
 * @internal The operation a call belongs to, the key of the per-operation retry budget and
 * adaptive limit: the method and the first path segment (`GET /getEventById`). The one place
 * that decides it, so it can be swapped for a richer key.
 */
export function operationOf(call: Call): string {
  const path = call.path
  const end = path.indexOf('/', 1)
  const query = path.indexOf('?')
  const cut = end === -1 ? query : query === -1 ? end : Math.min(end, query)
  return `${call.method} ${cut === -1 ? path : path.slice(0, cut)}`
}
