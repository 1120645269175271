import { LRUCache } from 'lru-cache'
import { abortErrorOf } from '../abort.js'
import type { Call } from '../call.js'
import { checks, fail } from '../checks.js'
import type { Clock } from '../clock.js'
import type { ClientHooks } from '../hooks.js'
import type { Step } from '../pipeline.js'

/** GET response cache options; `cache: false` (the default) disables caching and coalescing. */
export interface CacheOptions {
  /** Freshness lifetime of an entry, in ms. */
  ttlMs: number
  /** Maximum number of entries. Default 1000. */
  max?: number
  /** Maximum total size of cached bodies, in bytes. Default: unbounded (only `max` applies). */
  maxBytes?: number
  /** Serve an expired entry when the upstream fails or the circuit is open. Default false. */
  staleIfError?: boolean
}

/** @internal One cached GET response. */
export interface CacheEntry {
  value: unknown
  bytes: number
}

/** @internal Resolved cache options. */
export interface ResponseCacheOptions {
  ttlMs: number
  max: number
  maxBytes: number | undefined
  staleIfError: boolean
}

/** @internal Defaults of `cache`. */
export const cacheDefaults = { max: 1_000 } as const

/** @internal Validates `cache`; `false` (or nothing) turns the cache and coalescing off. */
export function resolveCache(
  cache: CacheOptions | false | undefined,
): ResponseCacheOptions | false {
  if (cache === false || cache === undefined) return false
  if (typeof cache !== 'object' || cache === null) fail('cache', 'an object or false', cache)
  checks.rejectUnknown('cache.', cache, ['ttlMs', 'max', 'maxBytes', 'staleIfError'])
  if (cache.ttlMs === undefined) fail('cache.ttlMs', 'a positive number', undefined)
  const staleIfError = cache.staleIfError ?? false
  if (typeof staleIfError !== 'boolean') fail('cache.staleIfError', 'a boolean', staleIfError)
  return {
    ttlMs: checks.positiveNumber('cache.ttlMs', cache.ttlMs, 0, false),
    max: checks.positiveInteger('cache.max', cache.max, cacheDefaults.max),
    maxBytes:
      cache.maxBytes === undefined
        ? undefined
        : checks.positiveInteger('cache.maxBytes', cache.maxBytes, 0),
    staleIfError,
  }
}

/**
 * @internal The fresh-cache step (per call, outermost of the cache steps): marks a cacheable GET
 * (sets `call.cacheKey`, which the coalescing, stale-if-error, write-back and shared-tier steps
 * act on) and answers it from a fresh entry without going further.
 */
export function cacheReadStep(cache: ResponseCache, hooks: ClientHooks): Step<Call> {
  return {
    name: 'cache',
    run: (call, next) => {
      if (!call.useCache || call.method !== 'GET') return next(call)
      // Without a cache an aborted call rejects before any request; here it would otherwise
      // start (and count a miss for) a shared upstream call that nobody waits for.
      if (call.signal?.aborted) return Promise.reject(abortErrorOf(call, call.signal))
      const key = cacheKey(call)
      const fresh = cache.fresh(key)
      if (fresh !== undefined) {
        call.outcome = 'cache'
        if (hooks.cacheHit.active) hooks.cacheHit.emit({ key, stale: false, call })
        return Promise.resolve(fresh.value)
      }
      if (hooks.cacheMiss.active) hooks.cacheMiss.emit({ key, call })
      call.cacheKey = key
      return next(call)
    },
  }
}

/**
 * @internal The write-back step (per call, inside the coalesced work): stores a cacheable GET's
 * answer before the coalescer drops the shared promise, which leaves no gap where a new call
 * would miss both. The shared tier, further in, says how long the entry has left
 * (`call.entryTtlMs`) and how big it is.
 */
export function cacheWriteStep(cache: ResponseCache): Step<Call> {
  return {
    name: 'cache-write',
    run: (call, next) => {
      const key = call.cacheKey
      if (key === undefined) return next(call)
      return next(call).then((value) => {
        cache.set(key, value, call.responseBytes, call.entryTtlMs)
        return value
      })
    },
  }
}

/**
 * @internal Cache policy for GET responses, on lru-cache: TTL, a bound on entries and optionally
 * on bytes (the size of the response body as received). lru-cache reads time through the
 * injected clock (`perf`), so the TTL follows fake and test clocks too.
 *
 * With `staleIfError`, expired entries are kept (`noDeleteOnStaleGet`) until the LRU bound evicts
 * them, so they can be served when the upstream fails.
 */
export class ResponseCache {
  readonly #lru: LRUCache<string, CacheEntry>
  readonly staleIfError: boolean

  constructor(options: ResponseCacheOptions, clock: Clock) {
    this.staleIfError = options.staleIfError
    this.#lru = new LRUCache<string, CacheEntry>({
      max: options.max,
      ttl: options.ttlMs,
      // lru-cache caches `now` for `ttlResolution` ms by default; read the clock every time so a
      // test clock moved by hand is seen at once.
      ttlResolution: 0,
      perf: { now: () => clock.now() },
      allowStale: false,
      noDeleteOnStaleGet: options.staleIfError,
      ...(options.maxBytes === undefined
        ? {}
        : {
            maxSize: options.maxBytes,
            sizeCalculation: (entry: CacheEntry) => Math.max(1, entry.bytes),
          }),
    })
  }

  /** The entry if it is still fresh. */
  fresh(key: string): CacheEntry | undefined {
    return this.#lru.get(key)
  }

  /** The entry even if expired (for stale-if-error). */
  stale(key: string): CacheEntry | undefined {
    return this.#lru.get(key, { allowStale: true })
  }

  /** Stores a response; `ttlMs` shortens the entry's life (e.g. to what the shared tier has left). */
  set(key: string, value: unknown, bytes: number, ttlMs?: number): void {
    this.#lru.set(
      key,
      { value, bytes },
      ttlMs === undefined ? undefined : { ttl: Math.max(1, ttlMs) },
    )
  }

  clear(): void {
    this.#lru.clear()
  }
}

/** Private: the cache and coalescing key of a GET; per-call headers can change the answer. */
function cacheKey(call: Call): string {
  const extra = call.extraHeaders
  if (extra === undefined) return call.path
  return `${call.path}\n${JSON.stringify(Object.entries(extra).sort(([a], [b]) => (a < b ? -1 : 1)))}`
}
