/**
 * The contract between a cache tier shared by every replica of a service (the "L2", e.g. Redis
 * in `@userevents/redis`) and the in-process caches in front of it (the client's GET cache, the
 * aggregator's event and user caches). Only the interfaces, their brands and the adapter of the
 * first version live here, so the client and the aggregator depend on no store implementation.
 *
 * Two versions: v2 ({@link SharedStore}, brand {@link sharedStoreV2Kind}) lets the fetch decide
 * an entry's lifetime after it ran and keeps entries past their freshness, so one conditional
 * request revalidates a key for the whole fleet; v1 ({@link SharedStoreV1}, brand
 * {@link sharedStoreKind}) fixes the TTL before the fetch. Both are accepted wherever a store is.
 */

/**
 * The brand of the first shared-store contract ({@link SharedStoreV1}): `load` takes its TTL
 * before the fetch. Still accepted by the client and the aggregator, which adapt such a store
 * (see {@link toSharedStore}). A string, not a symbol, so the types of two installed copies of
 * this package agree as well as their runtime checks.
 */
export const sharedStoreKind = 'userevents.shared-store.v1'

/**
 * The brand of the current shared-store contract ({@link SharedStore}): the fetch decides how
 * long its answer stays fresh and how long it is kept past that.
 */
export const sharedStoreV2Kind = 'userevents.shared-store.v2'

/** An entry past its freshness but still kept, handed to the one fleet-wide fetcher. */
export interface SharedStaleEntry<T> {
  /** The stored value (the client's carries the answer's validators: `ETag`, `Last-Modified`). */
  value: T
  /** Size of the value as stored, in bytes, when the store knows it. */
  bytes?: number
}

/**
 * What a {@link SharedStore.load} fetch resolves with: the value and its lifetime in the shared
 * tier, or `store: false` for a value the store must not keep (`Cache-Control: no-store`, ...).
 * Waiting replicas then fetch for themselves.
 */
export type SharedFetchResult<T> =
  | {
      value: T
      /** How long the value is fresh (a hit), in ms, from when the store writes it; 0 or more. */
      freshMs: number
      /**
       * How long the entry is kept in all, in ms (at least `freshMs`; default `freshMs`): past its
       * freshness a load hands it to the fleet's one fetcher as `stale`. An entry kept less than
       * 1 ms is not stored.
       */
      keepMs?: number
      /** Stored (the default): lets `result.store === false` tell the two shapes apart. */
      store?: true
    }
  | { value: T; store: false }

/** The fetch of one {@link SharedStore.load}: runs at most once fleet-wide for concurrent loads. */
export type SharedFetch<T> = (stale?: SharedStaleEntry<T>) => Promise<SharedFetchResult<T>>

/** Options of one {@link SharedStore.load}. */
export interface SharedLoadV2Options {
  /**
   * The longest this caller waits for another replica already fetching the key (or revalidating
   * it) before it fetches by itself, in ms. Default: the store's own setting.
   */
  waitMs?: number
}

/** The outcome of one {@link SharedStore.load}. */
export interface SharedLoadV2Result<T> {
  /** The value, from the shared tier or from `fetch`. */
  value: T
  /**
   * Time the value stays fresh, in ms: what is left of a shared hit's freshness (measured by the
   * store, never by a replica's clock), else the fetch's `freshMs` (0 for `store: false`).
   */
  freshMs: number
  /** Size of the value as stored, in bytes, when it came from the shared tier. */
  bytes?: number
  /**
   * `store`: found fresh in the shared tier (stored by this or another replica); `fetch`: this
   * caller fetched it fleet-wide once (revalidating a stale entry, or for a cold key) and stored
   * it; `local`: fetched without the shared tier (the store is degraded, a wait ran out, the
   * value is too large to share, or `fetch` said `store: false`).
   */
  source: 'store' | 'fetch' | 'local'
}

/** Options of {@link SharedStore.set}. */
export interface SharedSetOptions {
  /** How long the value is fresh, in ms (0 or more). */
  freshMs: number
  /** How long it is kept in all, in ms (at least `freshMs`; default `freshMs`). */
  keepMs?: number
}

/**
 * A cache tier shared by every replica, with fleet-wide single-flight (contract v2). Pass one as
 * the `store` option of `createUpstreamClient` or `createEventAggregator`; the in-process cache
 * stays in front of it. Implementations must degrade, never fail: a store that is down or slow
 * makes `load` run `fetch` locally (the same path as having no store), and `set`/`delete` resolve.
 *
 * A fresh entry is a hit. An entry past its freshness but within its `keepMs` is handed to the
 * one fetcher of the fleet as `stale` (the client sends its validators, and a `304` stores the
 * same body with a new freshness); the other replicas wait for that fetch exactly as they do for
 * a cold key. They never take the stale value, even inside a `stale-while-revalidate` window:
 * the store does not read HTTP windows, and a replica that holds the entry locally already
 * serves it stale from its own cache while the fleet revalidates.
 *
 * @example
 * import { createUpstreamClient } from '@userevents/upstream-client'
 * import { createRedisStore } from '@userevents/redis'
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', namespace: 'event-service' })
 * const client = createUpstreamClient({ baseUrl: 'http://event.com', cache: { ttlMs: 5_000 }, store })
 */
export interface SharedStore {
  /** The brand, always {@link sharedStoreV2Kind}; see {@link isSharedStore}. */
  readonly kind: typeof sharedStoreV2Kind
  /**
   * Resolves `key` from the shared tier; on a miss or a stale entry, runs `fetch` at most once
   * across the fleet for concurrent callers (the others wait for its value) and stores what it
   * returns for as long as it says. Rejects only with `fetch`'s own error (or a `freshMs` /
   * `keepMs` it returned that is not a duration), never because of the store.
   */
  load<T>(
    key: string,
    fetch: SharedFetch<T>,
    options?: SharedLoadV2Options,
  ): Promise<SharedLoadV2Result<T>>
  /** Stores `value`, fresh for `freshMs` and kept `keepMs`. Resolves even when the store is down. */
  set(key: string, value: unknown, options: SharedSetOptions): Promise<void>
  /** Removes `key`. Resolves even when the store is unavailable. */
  delete(key: string): Promise<void>
}

/** Options of one {@link SharedStoreV1.load} (contract v1). */
export interface SharedLoadOptions {
  /** How long the stored value stays valid in the shared tier, in ms (the local tier's TTL too). */
  ttlMs: number
  /**
   * The longest this caller waits for another replica already fetching the key before it
   * fetches by itself, in ms. Default: the store's own setting.
   */
  waitMs?: number
}

/** The outcome of one {@link SharedStoreV1.load} (contract v1). */
export interface SharedLoadResult<T> {
  /** The value, from the shared tier or from `fetch`. */
  value: T
  /** Time the value has left to live, in ms: the remaining TTL for a shared hit, else `ttlMs`. */
  ttlMs: number
  /** Size of the value as stored, in bytes, when it came from the shared tier. */
  bytes?: number
  /** `store`, `fetch` or `local`, as in {@link SharedLoadV2Result.source}. */
  source: 'store' | 'fetch' | 'local'
}

/**
 * The first shared-store contract, still accepted as a `store`: `load` fixes the TTL before the
 * fetch and the store expires entries at that TTL, so nothing is kept past its freshness (no
 * fleet-wide revalidation: a replica without a local copy refetches in full). Implement
 * {@link SharedStore} for new stores.
 */
export interface SharedStoreV1 {
  /** The brand, always {@link sharedStoreKind}. */
  readonly kind: typeof sharedStoreKind
  /** As {@link SharedStore.load}, with the value's TTL fixed before the fetch. */
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
 * True when `value` is a shared store of either contract ({@link SharedStore} or
 * {@link SharedStoreV1}, from any installed copy of this package): checks the `kind` brand and
 * the methods, not `instanceof`. {@link toSharedStore} turns either into a v2 store.
 *
 * @example
 * if (isSharedStore(options.cache)) throw new TypeError('pass a shared store as `store`, not `cache`')
 */
export function isSharedStore(value: unknown): value is SharedStore | SharedStoreV1 {
  if (typeof value !== 'object' || value === null) return false
  const kind = (value as { kind?: unknown }).kind
  return (
    (kind === sharedStoreV2Kind || kind === sharedStoreKind) &&
    typeof (value as SharedStore).load === 'function' &&
    typeof (value as SharedStore).set === 'function' &&
    typeof (value as SharedStore).delete === 'function'
  )
}

/**
 * The store as a v2 {@link SharedStore}: a v2 store itself, or a v1 store adapted. The adapter
 * loads with `ttlMs` fixed before the fetch (as v1 requires), then sets the entry again to the
 * `freshMs` the fetch returned when that is shorter (deleting it below 1 ms); an answer the fetch
 * says must not be stored fails v1's fetch on purpose so the store keeps nothing, and is returned
 * as `source: 'local'`. `keepMs` is ignored (v1 keeps nothing past its TTL) and `fetch` never
 * receives a stale entry.
 *
 * @example
 * import { isSharedStore, toSharedStore } from '@userevents/upstream-client'
 * declare const option: unknown
 * if (isSharedStore(option)) {
 *   const store = toSharedStore(option, 5_000)
 *   const { value } = await store.load('k', async () => ({ value: 1, freshMs: 5_000 }))
 * }
 */
export function toSharedStore(store: SharedStore | SharedStoreV1, ttlMs: number): SharedStore {
  if (store.kind === sharedStoreV2Kind) return store
  return new V1Adapter(store, ttlMs)
}

// Private helpers below.

/** Private: a v1 store behind the v2 contract; see {@link toSharedStore}. */
class V1Adapter implements SharedStore {
  readonly kind = sharedStoreV2Kind
  readonly #store: SharedStoreV1
  readonly #ttlMs: number

  constructor(store: SharedStoreV1, ttlMs: number) {
    this.#store = store
    this.#ttlMs = ttlMs
  }

  async load<T>(
    key: string,
    fetch: SharedFetch<T>,
    options?: SharedLoadV2Options,
  ): Promise<SharedLoadV2Result<T>> {
    let freshMs: number | undefined
    let unshared: Unshared<T> | undefined
    const waitMs = options?.waitMs
    let result: SharedLoadResult<T>
    try {
      result = await this.#store.load(
        key,
        async () => {
          const got = await fetch()
          if ('store' in got) {
            unshared = new Unshared(got.value)
            throw unshared
          }
          freshMs = got.freshMs
          return got.value
        },
        { ttlMs: this.#ttlMs, ...(waitMs === undefined ? {} : { waitMs }) },
      )
    } catch (error) {
      if (unshared !== undefined && error === unshared) {
        return { value: unshared.value, freshMs: 0, source: 'local' }
      }
      throw error
    }
    if (freshMs === undefined || result.source === 'store') {
      return withBytes(
        { value: result.value, freshMs: result.ttlMs, source: result.source },
        result,
      )
    }
    if (result.source === 'fetch' && freshMs < this.#ttlMs) {
      // v1 fixed the TTL before the fetch: shorten the entry to what the answer allows.
      if (freshMs < 1) void this.#store.delete(key)
      else void this.#store.set(key, result.value, freshMs)
    }
    return { value: result.value, freshMs: Math.min(freshMs, this.#ttlMs), source: result.source }
  }

  set(key: string, value: unknown, options: SharedSetOptions): Promise<void> {
    return options.freshMs < 1
      ? this.#store.delete(key)
      : this.#store.set(key, value, options.freshMs)
  }

  delete(key: string): Promise<void> {
    return this.#store.delete(key)
  }
}

/** Private: thrown through a v1 store's fetch to keep an answer out of it (see the adapter). */
class Unshared<T> {
  constructor(readonly value: T) {}
}

/** Private: `result` with the v1 result's `bytes`, when it has them. */
function withBytes<T>(
  result: SharedLoadV2Result<T>,
  from: { bytes?: number },
): SharedLoadV2Result<T> {
  if (from.bytes !== undefined) result.bytes = from.bytes
  return result
}
