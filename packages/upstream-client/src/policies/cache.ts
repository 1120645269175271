import { LRUCache } from 'lru-cache'
import type { Clock } from '../clock.js'

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
