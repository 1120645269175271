import { sleep } from '../clock.js'
import type { MockState } from '../state.js'
import type { RouteName } from '../types.js'
import { type CoreAnswer, type CoreRequest, gatewayTimeout, unavailable } from './exchange.js'
import { withCacheHeaders } from './http-cache.js'
import { withQuota } from './overlays/quota.js'

/** Internal: a data route's own behaviour, run after the shared per-request steps. */
export type DataResolver = (
  state: MockState,
  request: CoreRequest,
  params: Readonly<Record<string, string>>,
) => Promise<CoreAnswer>

/**
 * Internal: wraps a data route in the per-request steps every data route shares, in this order:
 * 1. count the call (and its concurrency, for the whole time it is pending, delays included) and
 *    record the request;
 * 1b. the quota overlay: a `429` over the quota, and the quota headers on every answer;
 * 1c. the tail overlay (`core/overlays/tail.ts`): a seeded share of answers waits its delay first;
 * 2. the `down` mode: `503` after the default delay;
 * 3. the `brownout` mode: a slot of the capacity queue, the route's latency times the factor,
 *    then the error rate;
 * 4. the route itself, then its caching headers (`http-cache.ts`: a `304` for a matching
 *    conditional request).
 * Behaviour that applies to every data route (another failure mode, an overlay) is one more step
 * here, written once for both transports. The returned function is created once per route.
 */
export function dataRoute(
  state: MockState,
  name: RouteName,
  resolve: DataResolver,
): (request: CoreRequest, params: Readonly<Record<string, string>>) => Promise<CoreAnswer> {
  return async (request, params) => {
    const leave = state.counters.enter(name)
    state.recorder.record(name, request)
    try {
      return await withQuota(state.quota, async () => {
        // Inside the quota: a refused call answers its 429 at once, an admitted one may be slow.
        await state.tail.apply(request)
        if (state.mode === 'down') {
          await sleep(state.options.clock, state.options.delays.default, request.signal)
          return unavailable('Event API is down', state.options.retryAfterSeconds)
        }
        if (state.mode === 'brownout') {
          const answer = await brownout(state, name, request)
          if (answer !== undefined) return answer
        }
        return withCacheHeaders(state, name, request, await resolve(state, request, params))
      })
    } finally {
      leave()
    }
  }
}

/**
 * Internal: waits the route's latency (plus the `slow` mode's extra); `false` when the client
 * went away meanwhile. In `brownout` mode the latency was already spent in the capacity queue's
 * slot. A zero delay reads `aborted` only, so the common case creates no abort signal.
 */
export function wait(
  state: MockState,
  ms: number,
  request: CoreRequest,
): Promise<boolean> | boolean {
  if (state.mode === 'brownout') return !request.aborted
  const total = ms + (state.mode === 'slow' ? state.options.delays.slowExtra : 0)
  if (total <= 0) return !request.aborted
  return sleep(state.options.clock, total, request.signal)
}

/** Internal: in `flapping` mode, draws from the seeded generator whether to drop this call. */
export function dropped(state: MockState): boolean {
  return state.mode === 'flapping' && state.random() < state.options.networkErrorRate
}

/**
 * Private: the brownout mode's part of a request. Resolves the answer when it ends the request
 * there (`504` for a propagated deadline that passed in the queue, or a `503`), `undefined` when
 * the route should answer normally.
 */
async function brownout(
  state: MockState,
  name: RouteName,
  request: CoreRequest,
): Promise<CoreAnswer | undefined> {
  const timeoutMs = requestTimeoutOf(request)
  if (!(await state.gate.acquire(timeoutMs))) {
    return gatewayTimeout(
      `The request waited longer than its x-request-timeout-ms of ${timeoutMs} ms; not served`,
    )
  }
  try {
    // No abort signal: the modelled upstream does not notice a caller leaving, so the slot is
    // held for the whole service time, as an overloaded backend's worker would be.
    await sleep(state.options.clock, state.options.delays[name] * state.brownout.latencyFactor)
  } finally {
    state.gate.release(request.aborted)
  }
  if (state.random() < state.brownout.errorRate) {
    return unavailable('Event API is browned out', state.options.retryAfterSeconds)
  }
  return undefined
}

/**
 * Private: the propagated deadline of a request, from `x-request-timeout-ms` (a non-negative
 * integer of milliseconds); `undefined` when absent or malformed (then it is ignored, as a
 * server ignores a header it cannot read).
 */
function requestTimeoutOf(request: CoreRequest): number | undefined {
  const raw = request.header('x-request-timeout-ms')
  if (raw === undefined || !/^\d{1,10}$/.test(raw.trim())) return undefined
  return Number(raw.trim())
}
