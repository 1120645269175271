import { type Call, notModified, type StoredAnswer } from '../call.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { type Freshness, freshnessOf, type ResponseHeaders } from '../http-freshness.js'
import type { Step } from '../pipeline.js'
import {
  isSharedStore,
  type SharedFetchResult,
  type SharedStaleEntry,
  type SharedStore,
  toSharedStore,
} from '../shared-store.js'

/**
 * @internal Validates the client's `store` option: a branded shared store (v2, or v1 adapted to
 * v2 with the cache's `ttlMs`), and only together with `cache` (the local tier in front of it).
 * Throws `InvalidOptionError` naming the option.
 */
export function resolveStore(
  store: unknown,
  cacheTtlMs: number | undefined,
): SharedStore | undefined {
  if (store === undefined) return undefined
  if (!isSharedStore(store)) {
    throw new InvalidOptionError(
      'store',
      `Expected \`store\` to be a SharedStore (e.g. createRedisStore() from @userevents/redis), got ${typeof store === 'object' && store !== null ? 'an object without the shared-store brand' : String(store)}`,
      store,
    )
  }
  if (cacheTtlMs === undefined) {
    throw new InvalidOptionError(
      'store',
      'Expected `cache` to be set when `store` is given: the shared tier sits behind the local cache and uses its `ttlMs`',
      store,
    )
  }
  return toSharedStore(store, cacheTtlMs)
}

/**
 * @internal The shared-tier step (per call, inside the coalesced work, after the deadline
 * started): a cacheable GET asks the store, and a cold or expired key is fetched once fleet-wide
 * (the rest of the pipeline runs as the fetch). A degraded store runs the fetch itself, so
 * "fleet mode off" and "store degraded" are one path. It tells the cache write-back step how
 * long an answer from the store stays fresh (`call.entryTtlMs`) and its size.
 *
 * With `honorHeaders`, the store keeps the answer with its caching headers (an envelope), so a
 * replica answered by the store knows the answer's validators and windows. The fetch decides the
 * entry's lifetime after it ran (contract v2): fresh for the answer's lifetime, and kept past it
 * when it has validators (see {@link keepMsOf}); an answer that must not be stored (`no-store`,
 * `private`, `Vary: *`) is returned with `store: false`. When the store hands the fetch a stale
 * shared entry, its validators are sent (they replace the local entry's, which may be older,
 * or missing on a replica that restarted) and it becomes the answer a `304` revalidates: one
 * conditional request refreshes the fleet, and the write-back step refreshes the local entry.
 *
 * Keys are `http:<client name>:<cache key>`: clients of different upstreams can share a store.
 * A waiter gives up on another replica's fetch after half of its deadline, so its own fetch
 * still has time to run.
 */
export function sharedTierStep(
  store: SharedStore,
  name: string,
  ttlMs: number,
  honorHeaders = true,
): Step<Call> {
  const prefix = `http:${name}:`
  return {
    name: 'shared-tier',
    run: (call, next) => {
      const key = call.cacheKey
      if (key === undefined) return next(call)
      // What this caller's own fetch answered (a value, or `notModified` for the write-back
      // step), when the fetch ran here; a shared hit is opened from the envelope instead.
      let fetched: { answer: unknown } | undefined
      const fetch = async (
        stale?: SharedStaleEntry<unknown>,
      ): Promise<SharedFetchResult<unknown>> => {
        if (honorHeaders && stale !== undefined) revalidateShared(call, stale)
        const answer = await next(call)
        fetched = { answer }
        if (!honorHeaders) return { value: answer, freshMs: ttlMs }
        return shareable(call, answer, ttlMs)
      }
      return store
        .load(prefix + key, fetch, {
          ...(Number.isFinite(call.deadlineMs) ? { waitMs: call.deadlineMs / 2 } : {}),
        })
        .then((result) => {
          if (result.bytes !== undefined) call.responseBytes = result.bytes
          if (fetched !== undefined && result.source !== 'store') return fetched.answer
          const opened = open(result.value)
          // Reported by `onCallEnd` (and the call's span): answered by the fleet, no attempt here.
          call.outcome = 'store'
          call.entryTtlMs = result.freshMs
          if (opened.headers !== undefined) call.responseHeaders = opened.headers
          return opened.value
        })
    },
  }
}

/**
 * @internal How long a shared entry is kept in all, in ms: an entry with validators is kept
 * `ttlMs` past its freshness (or its `stale-while-revalidate` / `stale-if-error` window, if
 * longer) so that the fleet revalidates it with one conditional request; one without is dropped
 * when it goes stale, as nothing in the fleet could use it (waiters never take a stale value).
 */
export function keepMsOf(f: Freshness, ttlMs: number): number {
  if (f.etag === undefined && f.lastModified === undefined) return f.lifetimeMs
  return f.lifetimeMs + Math.max(ttlMs, f.staleWhileRevalidateMs, f.staleIfErrorMs ?? 0)
}

// Private helpers below.

/** Private: the marker of a shared entry that carries its caching headers. */
const envelope = 'userevents.http.v1'

/**
 * Private: the stale shared entry becomes the answer this call revalidates: its validators
 * replace the ones the write-back step took from the local entry.
 */
function revalidateShared(call: Call, stale: SharedStaleEntry<unknown>): void {
  const opened = open(stale.value)
  const headers = opened.headers
  if (headers === undefined) return
  const f = freshnessOf(headers, 1, true)
  if (f.etag === undefined && f.lastModified === undefined) return
  const base: StoredAnswer = {
    value: opened.value,
    bytes: stale.bytes ?? 0,
    etag: f.etag,
    lastModified: f.lastModified,
    headers,
  }
  call.revalidating = base
  const conditional: Record<string, string> = {}
  for (const [name, value] of Object.entries(call.headers)) {
    const lower = name.toLowerCase()
    if (lower !== 'if-none-match' && lower !== 'if-modified-since') conditional[name] = value
  }
  if (base.etag !== undefined) conditional['if-none-match'] = base.etag
  if (base.lastModified !== undefined) conditional['if-modified-since'] = base.lastModified
  call.headers = conditional
}

/** Private: the fetch's answer as the shared entry (an envelope) and its lifetime. */
function shareable(call: Call, answer: unknown, ttlMs: number): SharedFetchResult<unknown> {
  const base = call.revalidating
  if (answer === notModified && base === undefined) {
    // A 304 to the caller's own conditional headers: there is no body to share.
    return { value: answer, store: false }
  }
  const headers =
    answer === notModified && base !== undefined
      ? { ...base.headers, ...call.responseHeaders }
      : (call.responseHeaders ?? {})
  const body = answer === notModified && base !== undefined ? base.value : answer
  const value = { [envelope]: 1, value: body, headers: cachingHeaders(headers) }
  const f = freshnessOf(headers, ttlMs, true)
  if (f.notStored !== undefined) return { value, store: false }
  return { value, freshMs: f.lifetimeMs, keepMs: keepMsOf(f, ttlMs) }
}

/** Private: a shared value and its caching headers (none for a bare value). */
function open(stored: unknown): { value: unknown; headers: ResponseHeaders | undefined } {
  if (typeof stored === 'object' && stored !== null && envelope in stored) {
    const { value, headers } = stored as unknown as { value: unknown; headers: ResponseHeaders }
    return { value, headers }
  }
  return { value: stored, headers: undefined }
}

/** Private: the response headers the caching rules read. */
function cachingHeaders(headers: ResponseHeaders): ResponseHeaders {
  const kept: Record<string, string | string[] | undefined> = {}
  for (const name of cachingHeaderNames) if (headers[name] !== undefined) kept[name] = headers[name]
  return kept
}

const cachingHeaderNames = [
  'cache-control',
  'expires',
  'date',
  'age',
  'etag',
  'last-modified',
  'vary',
]
