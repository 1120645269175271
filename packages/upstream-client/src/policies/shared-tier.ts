import type { Call } from '../call.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import type { Step } from '../pipeline.js'
import { isSharedStore, type SharedStore } from '../shared-store.js'

/**
 * @internal Validates the client's `store` option: a branded {@link SharedStore}, and only
 * together with `cache` (the local tier in front of it, whose TTL the shared tier reuses).
 * Throws `InvalidOptionError` naming the option.
 */
export function resolveStore(store: unknown, cacheEnabled: boolean): SharedStore | undefined {
  if (store === undefined) return undefined
  if (!isSharedStore(store)) {
    throw new InvalidOptionError(
      'store',
      `Expected \`store\` to be a SharedStore (e.g. createRedisStore() from @userevents/redis), got ${typeof store === 'object' && store !== null ? 'an object without the shared-store brand' : String(store)}`,
      store,
    )
  }
  if (!cacheEnabled) {
    throw new InvalidOptionError(
      'store',
      'Expected `cache` to be set when `store` is given: the shared tier sits behind the local cache and uses its `ttlMs`',
      store,
    )
  }
  return store
}

/**
 * @internal The shared-tier step (per call, inside the coalesced work, after the deadline
 * started): a cacheable GET asks the store, and a cold key is fetched once fleet-wide (the rest
 * of the pipeline runs as the fetch). A degraded store runs the fetch itself, so "fleet mode
 * off" and "store degraded" are one path. It tells the cache write-back step how long an answer
 * from the store has left to live (`call.entryTtlMs`) and its size.
 *
 * Keys are `http:<client name>:<cache key>`: clients of different upstreams can share a store.
 * A waiter gives up on another replica's fetch after half of its deadline, so its own fetch
 * still has time to run.
 */
export function sharedTierStep(store: SharedStore, name: string, ttlMs: number): Step<Call> {
  const prefix = `http:${name}:`
  return {
    name: 'shared-tier',
    run: (call, next) => {
      const key = call.cacheKey
      if (key === undefined) return next(call)
      return store
        .load(prefix + key, () => next(call), {
          ttlMs,
          ...(Number.isFinite(call.deadlineMs) ? { waitMs: call.deadlineMs / 2 } : {}),
        })
        .then((result) => {
          if (result.source === 'store') {
            // Reported by `onCallEnd` (and the call's span): answered by the fleet, no attempt here.
            call.outcome = 'store'
            call.entryTtlMs = result.ttlMs
          }
          if (result.bytes !== undefined) call.responseBytes = result.bytes
          return result.value
        })
    },
  }
}
