import type { Call } from '../call.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { isSharedStore, type SharedStore } from '../store.js'

/** @internal What the GET cache stores after the shared tier (or the upstream) answered. */
export interface TierEntry {
  value: unknown
  bytes: number
  /** Time left to live; `undefined` means the local cache's own TTL. */
  ttlMs: number | undefined
}

/** @internal Step 2½ of `execute`: the shared tier between local coalescing and the upstream. */
export type SharedTierStep = (
  key: string,
  call: Call,
  fetch: () => Promise<unknown>,
) => Promise<TierEntry>

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
 * @internal Builds the shared-tier step. Without a store it is the plain fetch, so "fleet mode
 * off" and "store degraded" (which the store answers by running `fetch` itself) are one path.
 *
 * Keys are `http:<client name>:<cache key>`: clients of different upstreams can share a store.
 * A waiter gives up on another replica's fetch after half of its deadline, so its own fetch
 * still has time to run.
 */
export function sharedTierStep(
  store: SharedStore | undefined,
  name: string,
  ttlMs: number,
): SharedTierStep {
  if (store === undefined) {
    return (_key, call, fetch) =>
      fetch().then((value) => ({ value, bytes: call.responseBytes, ttlMs: undefined }))
  }
  const prefix = `http:${name}:`
  return (key, call, fetch) =>
    store
      .load(prefix + key, fetch, {
        ttlMs,
        ...(Number.isFinite(call.deadlineMs) ? { waitMs: call.deadlineMs / 2 } : {}),
      })
      .then((result) => {
        // Reported by `onCallEnd` (and the call's span): answered by the fleet, no attempt here.
        if (result.source === 'store') call.outcome = 'store'
        return {
          value: result.value,
          bytes: result.bytes ?? call.responseBytes,
          ttlMs: result.source === 'store' ? result.ttlMs : undefined,
        }
      })
}
