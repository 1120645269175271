import { LRUCache } from 'lru-cache'
import { abortErrorOf } from '../abort.js'
import { type Call, notModified, type StoredAnswer } from '../call.js'
import { checks, fail } from '../checks.js'
import type { Clock } from '../clock.js'
import type { ClientHooks } from '../hooks.js'
import {
  type Freshness,
  freshnessOf,
  type NotStoredReason,
  type ResponseHeaders,
} from '../http-freshness.js'
import type { Step } from '../pipeline.js'

/**
 * GET response cache options; `cache: false` (the default) disables caching and coalescing.
 *
 * The cache follows the upstream's caching headers (RFC 9111, as a shared cache): `no-store`,
 * `private` and `Vary: *` answers are not stored; `no-cache` ones are revalidated before each
 * use; `s-maxage`, then `max-age`, then `Expires` minus `Date`, minus `Age`, give the lifetime.
 * `ttlMs` is the lifetime of an answer that gives none, and an upper bound of one that does (a
 * service may want less than the upstream allows). Expired entries with an `ETag` or
 * `Last-Modified` are revalidated with a conditional request, and a `304` serves the stored
 * value. `must-revalidate` (and `s-maxage`) forbid serving stale, even with `staleIfError`.
 */
export interface CacheOptions {
  /** Freshness lifetime of an answer without caching headers, and the upper bound of any, in ms. */
  ttlMs: number
  /** Maximum number of entries. Default 1000. */
  max?: number
  /** Maximum total size of cached bodies, in bytes. Default: unbounded (only `max` applies). */
  maxBytes?: number
  /**
   * Serve an expired entry when the upstream fails or the circuit is open. Default false. An
   * answer's own `stale-if-error=N` does the same for N seconds; `must-revalidate` beats both.
   */
  staleIfError?: boolean
  /**
   * `false` ignores the upstream's caching headers: every 2xx GET is kept for `ttlMs`, keyed by
   * path and per-call headers (the behaviour before 0.x, for upstreams that send wrong headers).
   * Default true.
   */
  honorHeaders?: boolean
}

/** @internal One cached GET response and what its headers allow. */
export interface CacheEntry extends StoredAnswer {
  /** Clock time until which the entry is fresh. */
  freshUntil: number
  /** Clock time until which it may be served stale while one revalidation runs. */
  staleWhileRevalidateUntil: number
  /** Clock time until which it may be served when the upstream fails. */
  staleIfErrorUntil: number
}

/** @internal Resolved cache options. */
export interface ResponseCacheOptions {
  ttlMs: number
  max: number
  maxBytes: number | undefined
  staleIfError: boolean
  honorHeaders: boolean
}

/** @internal Defaults of `cache`. */
export const cacheDefaults = { max: 1_000, honorHeaders: true } as const

/** @internal Validates `cache`; `false` (or nothing) turns the cache and coalescing off. */
export function resolveCache(
  cache: CacheOptions | false | undefined,
): ResponseCacheOptions | false {
  if (cache === false || cache === undefined) return false
  if (typeof cache !== 'object' || cache === null) fail('cache', 'an object or false', cache)
  checks.rejectUnknown('cache.', cache, [
    'ttlMs',
    'max',
    'maxBytes',
    'staleIfError',
    'honorHeaders',
  ])
  if (cache.ttlMs === undefined) fail('cache.ttlMs', 'a positive number', undefined)
  const staleIfError = cache.staleIfError ?? false
  if (typeof staleIfError !== 'boolean') fail('cache.staleIfError', 'a boolean', staleIfError)
  const honorHeaders = cache.honorHeaders ?? cacheDefaults.honorHeaders
  if (typeof honorHeaders !== 'boolean') fail('cache.honorHeaders', 'a boolean', honorHeaders)
  return {
    ttlMs: checks.positiveNumber('cache.ttlMs', cache.ttlMs, 0, false),
    max: checks.positiveInteger('cache.max', cache.max, cacheDefaults.max),
    maxBytes:
      cache.maxBytes === undefined
        ? undefined
        : checks.positiveInteger('cache.maxBytes', cache.maxBytes, 0),
    staleIfError,
    honorHeaders,
  }
}

/**
 * @internal The fresh-cache step (per call, outermost of the cache steps): marks a cacheable GET
 * (sets `call.cacheKey`, which the coalescing, stale-if-error, write-back and shared-tier steps
 * act on) and answers it from a fresh entry without going further. An expired entry with
 * validators is handed to the write-back step for a conditional request (`call.revalidating`);
 * within its `stale-while-revalidate` window it answers at once and that request runs in the
 * background, coalesced, on a call of its own (no caller signal, its own deadline).
 */
export function cacheReadStep(cache: ResponseCache, hooks: ClientHooks): Step<Call> {
  return {
    name: 'cache',
    run: (call, next) => {
      if (!call.useCache || call.method !== 'GET') return next(call)
      // Without a cache an aborted call rejects before any request; here it would otherwise
      // start (and count a miss for) a shared upstream call that nobody waits for.
      if (call.signal?.aborted) return Promise.reject(abortErrorOf(call, call.signal))
      const key = cache.keyOf(call)
      const entry = cache.get(key)
      const now = cache.now()
      if (entry !== undefined && now < entry.freshUntil) {
        call.outcome = 'cache'
        if (hooks.cacheHit.active) hooks.cacheHit.emit({ key, stale: false, state: 'fresh', call })
        return Promise.resolve(entry.value)
      }
      call.cacheKey = key
      if (entry !== undefined && (entry.etag !== undefined || entry.lastModified !== undefined)) {
        call.revalidating = entry
      }
      if (entry !== undefined && now < entry.staleWhileRevalidateUntil) {
        const background: Call = { ...call, signal: undefined, outcome: 'upstream' }
        // Nobody waits for it: its failure only means the next caller tries again.
        next(background).catch(() => undefined)
        call.outcome = 'stale'
        if (hooks.cacheHit.active) hooks.cacheHit.emit({ key, stale: true, state: 'stale', call })
        return Promise.resolve(entry.value)
      }
      if (hooks.cacheMiss.active) hooks.cacheMiss.emit({ key, call })
      return next(call)
    },
  }
}

/**
 * @internal The write-back step (per call, inside the coalesced work): stores a cacheable GET's
 * answer before the coalescer drops the shared promise, which leaves no gap where a new call
 * would miss both. It sends the validators of the entry being revalidated, and turns a `304`
 * into the stored value with a refreshed lifetime. The shared tier, further in, says how long
 * an entry from the fleet stays fresh (`call.entryTtlMs`) and how big it is, and may replace
 * `call.revalidating` with the fleet's stale entry it revalidated.
 */
export function cacheWriteStep(cache: ResponseCache, hooks: ClientHooks): Step<Call> {
  return {
    name: 'cache-write',
    run: (call, next) => {
      const key = call.cacheKey
      if (key === undefined) return next(call)
      const stored = call.revalidating
      if (stored !== undefined) call.headers = withValidators(call.headers, stored)
      return next(call).then((value) => {
        // The shared tier may have revalidated the fleet's entry instead of the local one (a
        // newer one, or the only one on a replica that restarted): the `304` is about that.
        const revalidated = call.revalidating
        if (value === notModified && revalidated !== undefined) {
          cache.refresh(call, revalidated)
          call.outcome = 'revalidated'
          if (hooks.cacheHit.active) {
            hooks.cacheHit.emit({ key, stale: false, state: 'revalidated', call })
          }
          return revalidated.value
        }
        const reason = cache.set(call, value)
        if (reason !== undefined && hooks.cacheNotStored.active) {
          hooks.cacheNotStored.emit({ key, reason, call })
        }
        return value
      })
    },
  }
}

/**
 * @internal Cache policy for GET responses, on lru-cache: a bound on entries and optionally on
 * bytes (the size of the response body as received); each entry's freshness and stale windows
 * are read from its answer and checked on the injected clock. Entries that can still serve
 * (validators to revalidate, a stale window, `staleIfError`) are kept past their freshness
 * until the LRU bound evicts them; the others are dropped when their last window closes.
 */
export class ResponseCache {
  readonly #lru: LRUCache<string, CacheEntry>
  /** The request headers the answers of a path vary on, by path (see {@link keyOf}). */
  readonly #vary: LRUCache<string, readonly string[]>
  readonly #options: ResponseCacheOptions
  readonly #clock: Clock
  readonly staleIfError: boolean

  constructor(options: ResponseCacheOptions, clock: Clock) {
    this.#options = options
    this.#clock = clock
    this.staleIfError = options.staleIfError
    this.#vary = new LRUCache({ max: options.max })
    this.#lru = new LRUCache<string, CacheEntry>({
      max: options.max,
      // lru-cache caches `now` for `ttlResolution` ms by default; read the clock every time so a
      // test clock moved by hand is seen at once.
      ttlResolution: 0,
      perf: { now: () => clock.now() },
      allowStale: false,
      ...(options.maxBytes === undefined
        ? {}
        : {
            maxSize: options.maxBytes,
            sizeCalculation: (entry: CacheEntry) => Math.max(1, entry.bytes),
          }),
    })
  }

  /** The clock's time. */
  now(): number {
    return this.#clock.now()
  }

  /**
   * The cache and coalescing key of a GET: its path and the values of the request headers its
   * answers vary on. Before any answer of the path was seen (or with `honorHeaders: false`),
   * every per-call header is part of it, as a call's headers may change the answer.
   */
  keyOf(call: Call): string {
    // `peek`: a lookup per call must not pay for the LRU's reordering; every store sets it again.
    const vary = this.#options.honorHeaders ? this.#vary.peek(call.path) : undefined
    return vary === undefined ? legacyKey(call) : variedKey(call, vary)
  }

  /** The entry, fresh or not. */
  get(key: string): CacheEntry | undefined {
    return this.#lru.get(key)
  }

  /** The entry if it may be served when the upstream fails (for stale-if-error). */
  stale(key: string): CacheEntry | undefined {
    const entry = this.#lru.get(key)
    return entry !== undefined && this.now() < entry.staleIfErrorUntil ? entry : undefined
  }

  /** Stores a call's answer as its headers allow; returns why it was not stored, if it was not. */
  set(call: Call, value: unknown): NotStoredReason | undefined {
    const headers = call.responseHeaders ?? {}
    const freshness = freshnessOf(
      call.responseHeaders,
      this.#options.ttlMs,
      this.#options.honorHeaders,
    )
    if (freshness.notStored !== undefined) return freshness.notStored
    this.#store(call, value, call.responseBytes, freshness, headers)
    return undefined
  }

  /** Refreshes a revalidated entry with the headers of the `304` (RFC 9111 §4.3.4). */
  refresh(call: Call, stored: StoredAnswer): void {
    const headers = { ...stored.headers, ...pickUpdated(call.responseHeaders ?? {}) }
    const freshness = freshnessOf(headers, this.#options.ttlMs, this.#options.honorHeaders)
    if (freshness.notStored !== undefined) return
    this.#store(call, stored.value, stored.bytes, freshness, headers)
  }

  clear(): void {
    this.#lru.clear()
    this.#vary.clear()
  }

  #store(call: Call, value: unknown, bytes: number, f: Freshness, headers: ResponseHeaders): void {
    const now = this.now()
    const lifetimeMs = Math.min(f.lifetimeMs, call.entryTtlMs ?? Number.POSITIVE_INFINITY)
    const freshUntil = now + lifetimeMs
    const canServeStale = !f.mustRevalidate
    const entry: CacheEntry = {
      value,
      bytes,
      freshUntil,
      staleWhileRevalidateUntil: canServeStale ? freshUntil + f.staleWhileRevalidateMs : 0,
      staleIfErrorUntil: !canServeStale
        ? 0
        : this.staleIfError
          ? Number.POSITIVE_INFINITY
          : freshUntil + (f.staleIfErrorMs ?? 0),
      etag: f.etag,
      lastModified: f.lastModified,
      headers,
    }
    if (this.#options.honorHeaders) this.#vary.set(call.path, f.vary)
    const key = this.keyOf(call)
    const keep =
      f.etag !== undefined ||
      f.lastModified !== undefined ||
      entry.staleIfErrorUntil === Number.POSITIVE_INFINITY
    const lastUse = Math.max(freshUntil, entry.staleWhileRevalidateUntil, entry.staleIfErrorUntil)
    this.#lru.set(key, entry, keep ? {} : { ttl: Math.max(1, lastUse - now) })
  }
}

/** Private: the request headers with the stored entry's validators (a new object). */
function withValidators(
  headers: Record<string, string>,
  stored: StoredAnswer,
): Record<string, string> {
  const conditional = { ...headers }
  if (stored.etag !== undefined) conditional['if-none-match'] = stored.etag
  if (stored.lastModified !== undefined) conditional['if-modified-since'] = stored.lastModified
  return conditional
}

/** Private: the headers of a `304` that replace the stored ones (freshness and validators). */
function pickUpdated(headers: ResponseHeaders): ResponseHeaders {
  const updated: Record<string, string | string[] | undefined> = {}
  for (const name of ['cache-control', 'expires', 'date', 'age', 'etag', 'last-modified']) {
    if (headers[name] !== undefined) updated[name] = headers[name]
  }
  return updated
}

/** Private: the key of a GET whose answers are not known to vary: path and per-call headers. */
function legacyKey(call: Call): string {
  const extra = call.extraHeaders
  if (extra === undefined) return call.path
  return `${call.path}\n${JSON.stringify(Object.entries(extra).sort(([a], [b]) => (a < b ? -1 : 1)))}`
}

/** Private: the key of a GET whose answers vary on `names` (sorted, lower-case). */
function variedKey(call: Call, names: readonly string[]): string {
  if (names.length === 0) return call.path
  const lower: Record<string, string> = {}
  for (const [name, value] of Object.entries(call.headers)) lower[name.toLowerCase()] = value
  return `${call.path}\n${JSON.stringify(names.map((name) => [name, lower[name] ?? null]))}`
}
