import { isSharedStore } from '@userevents/upstream-client'
import { LRUCache } from 'lru-cache'
import { checks } from '../checks.js'
import { AggregatorValidationError } from '../errors/validation-error.js'
import { integerInRange, positiveNumber } from '../validate.js'

/**
 * Any map-like cache: a `Map`, an `LRUCache`, or your own (DataLoader's `cacheMap` contract).
 * The loader stores resolved values in it; expiry is the map's business. Its methods must be
 * synchronous: an async store (Redis...) goes in the `store` option, behind the local cache.
 */
export interface CacheMap<K, V> {
  /** The cached value, or `undefined` on a miss. */
  get(key: K): V | undefined
  /** Stores a value. */
  set(key: K, value: V): unknown
  /** Removes one key. */
  delete(key: K): unknown
  /** Removes every key. */
  clear(): unknown
}

/** Options of the built-in per-item LRU cache. */
export interface LoaderCacheOptions {
  /** How long a loaded value is served without asking the upstream again, in ms. */
  ttlMs: number
  /** The most values kept; the least recently used are evicted first. Default 10,000. */
  max?: number
}

/** A monotonic clock, injectable so tests can drive cache expiry. */
export interface Clock {
  /** Milliseconds from an arbitrary origin; only differences matter. */
  now(): number
}

/**
 * @internal The loader's view of its cache. `getStale` exists so that stale-if-error can serve an
 * expired value when a reload fails; for a user-supplied map "stale" and "fresh" are the same.
 */
export interface ValueStore<V> {
  getFresh(id: string): V | undefined
  getStale(id: string): V | undefined
  /** `ttlMs` shortens the entry's life (e.g. to what the shared tier has left). */
  set(id: string, value: V, ttlMs?: number): void
  delete(id: string): void
  clear(): void
}

/** @internal Builds the store for a `cache` option (validated here, quoting bad values). */
export function createValueStore<V>(
  option: LoaderCacheOptions | CacheMap<string, V> | false | undefined,
  keepStale: boolean,
  clock: Clock | undefined,
  field = 'cache',
): ValueStore<V> {
  if (option === false) return noStore()
  if (option === undefined) return lruStore({ ttlMs: 60_000, max: 10_000 }, keepStale, clock)
  validateCacheOption(field, option)
  if (isCacheMap<V>(option)) return mapStore(option, field)
  return lruStore(option, keepStale, clock, field)
}

/**
 * @internal Rejects what cannot be a `cache` option before any load runs: a non-object, a shared
 * store (it belongs in `store`), and a map whose `get` is an `async` function (every load would
 * otherwise resolve `undefined` without calling the upstream). A `get` that returns a promise
 * without being declared `async` is caught on first use by {@link createValueStore}'s map.
 */
export function validateCacheOption(field: string, option: unknown): void {
  if (option === undefined || option === false) return
  if (typeof option !== 'object' || option === null) {
    throw new AggregatorValidationError(field, 'an object, a cache map or false', option)
  }
  if (isSharedStore(option)) {
    throw new AggregatorValidationError(
      field,
      'a synchronous cache map or `{ ttlMs, max }` (a shared store goes in the `store` option)',
      '[SharedStore]',
    )
  }
  const methods = option as Record<string, unknown>
  for (const name of ['get', 'set', 'delete', 'clear']) {
    if (methods[name] instanceof AsyncFunction) {
      throw new AggregatorValidationError(
        field,
        `a synchronous cache map (its \`${name}\` is async; an async store goes in the \`store\` option)`,
        '[async cache map]',
      )
    }
  }
  // A map may carry any other members; only `{ ttlMs, max }` is a closed set of keys.
  if (!isCacheMap(option)) checks.rejectUnknown(`${field}.`, option, ['ttlMs', 'max'])
}

/** @internal Duck-types a get/set/delete/clear map. */
function isCacheMap<V>(value: object): value is CacheMap<string, V> {
  const m = value as Partial<Record<keyof CacheMap<string, V>, unknown>>
  return (
    typeof m.get === 'function' &&
    typeof m.set === 'function' &&
    typeof m.delete === 'function' &&
    typeof m.clear === 'function'
  )
}

/** @internal Caching disabled. */
function noStore<V>(): ValueStore<V> {
  const none = () => undefined
  return { getFresh: none, getStale: none, set: none, delete: none, clear: none }
}

/**
 * @internal A user map: its own eviction decides freshness. A promise from `get` means an async
 * store was passed as a map; it is rejected with a typed error naming the option instead of
 * being served as the value.
 */
function mapStore<V>(map: CacheMap<string, V>, field: string): ValueStore<V> {
  const get = (id: string): V | undefined => {
    const value = map.get(id)
    if (isThenable(value)) {
      throw new AggregatorValidationError(
        field,
        'a synchronous cache map (its `get` returned a promise; an async store goes in the `store` option)',
        '[async cache map]',
      )
    }
    return value
  }
  return {
    getFresh: get,
    getStale: get,
    set: (id, v) => void map.set(id, v),
    delete: (id) => void map.delete(id),
    clear: () => void map.clear(),
  }
}

/**
 * @internal lru-cache with a TTL. Values are boxed because lru-cache refuses `undefined`/`null`.
 * With `keepStale`, expired entries are not deleted on read (`noDeleteOnStaleGet`) so a failed
 * reload can still serve them; they leave the cache by LRU eviction, keeping the bound.
 */
function lruStore<V>(
  options: LoaderCacheOptions,
  keepStale: boolean,
  clock: Clock | undefined,
  field = 'cache',
): ValueStore<V> {
  const ttl = positiveNumber(`${field}.ttlMs`, options.ttlMs)
  const max = integerInRange(`${field}.max`, options.max ?? 10_000, 1, Number.MAX_SAFE_INTEGER)
  const lru = new LRUCache<string, { v: V }>({
    max,
    ttl,
    allowStale: false,
    noDeleteOnStaleGet: keepStale,
    // An injected clock is read on every access: lru-cache's default 1 ms memo would otherwise
    // arm a real timer, which fake-timer tests do not expect.
    // The +1 matters: lru-cache treats an entry stamped at time 0 as having no TTL at all, and
    // an injected clock (fake timers, tests) may well start at 0.
    ...(clock ? { perf: { now: () => clock.now() + 1 }, ttlResolution: 0 } : {}),
  })
  return {
    getFresh: (id) => lru.get(id)?.v,
    getStale: (id) => lru.get(id, { allowStale: true })?.v,
    set: (id, v, ttlMs) =>
      void lru.set(id, { v }, ttlMs === undefined ? undefined : { ttl: Math.max(1, ttlMs) }),
    delete: (id) => void lru.delete(id),
    clear: () => lru.clear(),
  }
}

/** @internal The constructor of `async` functions (not a global). */
const AsyncFunction = (async () => {}).constructor

/** @internal */
function isThenable(value: unknown): boolean {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  )
}
