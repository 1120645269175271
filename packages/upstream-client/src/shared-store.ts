/**
 * The contract between a cache tier shared by every replica of a service (the "L2", e.g. Redis
 * in `@userevents/redis`) and the in-process caches in front of it (the client's GET cache, the
 * aggregator's event and user caches). Only the interface and its brand live here, so the client
 * and the aggregator depend on no store implementation.
 */

/**
 * The brand every {@link SharedStore} carries in its `kind` field. A string, not a symbol, so the
 * types of two installed copies of this package agree as well as their runtime checks; the
 * version suffix lets a future, incompatible contract be told apart.
 */
export const sharedStoreKind = 'userevents.shared-store.v1'

/** Options of one {@link SharedStore.load}. */
export interface SharedLoadOptions {
  /** How long the stored value stays valid in the shared tier, in ms (the local tier's TTL too). */
  ttlMs: number
  /**
   * The longest this caller waits for another replica already fetching the key before it
   * fetches by itself, in ms. Default: the store's own setting.
   */
  waitMs?: number
}

/** The outcome of one {@link SharedStore.load}. */
export interface SharedLoadResult<T> {
  /** The value, from the shared tier or from `fetch`. */
  value: T
  /** Time the value has left to live, in ms: the remaining TTL for a shared hit, else `ttlMs`. */
  ttlMs: number
  /** Size of the value as stored, in bytes, when it came from the shared tier. */
  bytes?: number
  /**
   * `store`: found in the shared tier (stored by this or another replica); `fetch`: this caller
   * fetched it fleet-wide once and stored it; `local`: fetched without the shared tier (the
   * store is degraded, a wait ran out, or the value is too large to share).
   */
  source: 'store' | 'fetch' | 'local'
}

/**
 * A cache tier shared by every replica, with fleet-wide single-flight. Pass one as the `store`
 * option of `createUpstreamClient` or `createEventAggregator`; the in-process cache stays in
 * front of it. Implementations must degrade, never fail: a store that is down or slow makes
 * `load` run `fetch` locally (the same path as having no store), and `set`/`delete` resolve.
 *
 * @example
 * import { createUpstreamClient } from '@userevents/upstream-client'
 * import { createRedisStore } from '@userevents/redis'
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', namespace: 'event-service' })
 * const client = createUpstreamClient({ baseUrl: 'http://event.com', cache: { ttlMs: 5_000 }, store })
 */
export interface SharedStore {
  /** The brand, always {@link sharedStoreKind}; see {@link isSharedStore}. */
  readonly kind: typeof sharedStoreKind
  /**
   * Resolves `key` from the shared tier; on a miss, runs `fetch` at most once across the fleet
   * for concurrent callers (the others wait for its value) and stores the result with `ttlMs`.
   * Rejects only with `fetch`'s own error, never because of the store.
   */
  load<T>(
    key: string,
    fetch: () => Promise<T>,
    options: SharedLoadOptions,
  ): Promise<SharedLoadResult<T>>
  /** Stores `value` for `ttlMs`. Resolves even when the store is unavailable. */
  set(key: string, value: unknown, ttlMs: number): Promise<void>
  /** Removes `key`. Resolves even when the store is unavailable. */
  delete(key: string): Promise<void>
}

/**
 * True when `value` is a {@link SharedStore} (from any installed copy of this package): checks
 * the `kind` brand and the methods, not `instanceof`.
 *
 * @example
 * if (isSharedStore(options.cache)) throw new TypeError('pass a shared store as `store`, not `cache`')
 */
export function isSharedStore(value: unknown): value is SharedStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === sharedStoreKind &&
    typeof (value as SharedStore).load === 'function' &&
    typeof (value as SharedStore).set === 'function' &&
    typeof (value as SharedStore).delete === 'function'
  )
}
