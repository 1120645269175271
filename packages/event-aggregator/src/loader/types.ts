import type { SharedStore, SharedStoreV1 } from '@userevents/upstream-client'
import type { CacheMap, Clock, LoaderCacheOptions } from './cache.js'

/** What the loader passes to your load functions. */
export interface LoadContext {
  /**
   * Aborts when no caller is waiting for the result any more (every caller that asked for these
   * ids aborted). Pass it on to your HTTP client.
   */
  signal: AbortSignal
  /**
   * The `context` given by the caller whose request started this load (for a batch, by the
   * caller of its first id); e.g. a request id for log correlation. Coalesced callers share it.
   */
  context: unknown
}

/** Options of {@link createLoader}. Give `load`, `batchLoad`, or both (then `batchLoad` is used). */
export interface LoaderOptions<V> {
  /** Loads one id. Called at most `concurrency` times at once. */
  load?: (id: string, ctx: LoadContext) => Promise<V>
  /**
   * Loads up to `maxBatchSize` ids in one call and returns one entry per id, in the same order:
   * the value, or an `Error` for that id. Rejecting fails every id of the batch. Resolving with
   * `null` means "no batch for these ids": they are loaded one by one with `load` instead (each
   * through the same concurrency window), e.g. when the upstream turns out to lack a batch route.
   */
  batchLoad?: (ids: string[], ctx: LoadContext) => Promise<ReadonlyArray<V | Error> | null>
  /** The most ids per `batchLoad` call. Default 100. */
  maxBatchSize?: number
  /** The most `load`/`batchLoad` calls in flight at once, as a sliding window. Default 50. */
  concurrency?: number
  /**
   * A window that moves: read before each call starts, it sets the window to its value (at
   * least 1, at most `concurrency`). The aggregator passes the upstream client's adaptive
   * concurrency limit here. Default: the window is `concurrency`.
   */
  window?: () => number
  /**
   * Per-item cache of loaded values: `{ ttlMs, max }` for the built-in LRU (default
   * `{ ttlMs: 60_000, max: 10_000 }`), any `get/set/delete/clear` map, or `false` for none.
   * In-flight coalescing is always on, whatever this says.
   */
  cache?: LoaderCacheOptions | CacheMap<string, V> | false
  /**
   * When a load fails and an expired value is still cached, resolve with it instead of failing.
   * A function decides per error (e.g. not for a 404). Default `false`.
   */
  staleIfError?: boolean | ((error: unknown) => boolean)
  /** Clock read by the built-in cache's TTL; inject one in tests. Default `performance`. */
  clock?: Clock
  /**
   * A tier shared by every replica (e.g. `createRedisStore()` from `@userevents/redis`) behind
   * the built-in cache, which it needs (its `ttlMs` is used on both tiers). A local miss asks the
   * store; an id missing there too is loaded once across the fleet (the other replicas wait for
   * its value). When the store is degraded, loads run here as without it. A v1 store
   * (`SharedStoreV1`) is adapted. Default none.
   */
  store?: SharedStore | SharedStoreV1
  /** Prefix of this loader's keys in `store`, so loaders of different things can share one. Default `"loader"`. */
  storeNamespace?: string
}

/** Per-call options of {@link Loader.load} and {@link Loader.loadMany}. */
export interface LoadOptions {
  /**
   * Stops waiting: the call rejects with `signal.reason`. The underlying request is aborted only
   * when no other caller is waiting for the same id.
   */
  signal?: AbortSignal
  /** Passed to your load functions as `ctx.context` when this call starts a load. */
  context?: unknown
}

/** A DataLoader-style loader; see {@link createLoader}. */
export interface Loader<V> {
  /** Loads one id: from the cache, a load already in flight, or a new call. Rejects on failure. */
  load(id: string, options?: LoadOptions): Promise<V>
  /**
   * Loads many ids (duplicates fetched once) and resolves with one entry per id, in order: the
   * value, or the `Error` for that id. It never rejects for a single id; it rejects only on abort.
   */
  loadMany(ids: readonly string[], options?: LoadOptions): Promise<Array<V | Error>>
  /**
   * The fresh cached value of an id, or `undefined`: a synchronous look at the cache that never
   * loads, never waits for a load in flight and never asks a shared `store`. What `load` would
   * answer at once from the cache.
   */
  peek(id: string): V | undefined
  /** Forgets the cached value of one id. */
  clear(id: string): Loader<V>
  /** Forgets every cached value. */
  clearAll(): Loader<V>
  /** Caches a value for an id unless one is cached already (DataLoader semantics). */
  prime(id: string, value: V): Loader<V>
  /** Calls of `load`/`batchLoad` running now and waiting for a slot. */
  readonly stats: { active: number; queued: number; inFlightIds: number }
}
