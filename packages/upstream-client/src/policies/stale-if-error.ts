import type { Call } from '../call.js'
import { isUpstreamError, type UpstreamError } from '../errors/upstream-error.js'
import type { ClientHooks } from '../hooks.js'
import type { Step } from '../pipeline.js'

/** @internal Where stale-if-error finds an expired entry: the GET cache (`ResponseCache`). */
export interface StaleSource {
  /** The entry even if expired. */
  stale(key: string): { value: unknown } | undefined
}

/**
 * @internal The stale-if-error step (per call, inside the coalesced work, around the deadline
 * and the shared tier): a cacheable GET that failed, with an upstream failure or an open circuit
 * (`isFailure`, the breakers' classification), is answered from an expired entry when the cache
 * still holds one.
 */
export function staleIfErrorStep(
  cache: StaleSource,
  isFailure: (error: UpstreamError) => boolean,
  hooks: ClientHooks,
): Step<Call> {
  // A concurrency-limit refusal shares the open circuit's code, and is served stale the same;
  // so is a spent quota (`rateLimit`): the upstream will not answer now either.
  const servesStale = (error: unknown) =>
    isUpstreamError(error) &&
    (error.code === 'UPSTREAM_CIRCUIT_OPEN' ||
      error.code === 'UPSTREAM_RATE_LIMITED' ||
      isFailure(error))
  return {
    name: 'stale-if-error',
    run: (call, next) => {
      const key = call.cacheKey
      if (key === undefined) return next(call)
      return next(call).catch((error: unknown) => {
        if (servesStale(error)) {
          const stale = cache.stale(key)
          if (stale !== undefined) {
            call.outcome = 'stale'
            if (hooks.cacheHit.active)
              hooks.cacheHit.emit({ key, stale: true, state: 'stale', call })
            return stale.value
          }
        }
        throw error
      })
    },
  }
}
