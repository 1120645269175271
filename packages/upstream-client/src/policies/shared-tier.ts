import { type Call, notModified } from '../call.js'
import { InvalidOptionError } from '../errors/invalid-option-error.js'
import { freshnessOf, type ResponseHeaders } from '../http-freshness.js'
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
 * With `honorHeaders`, the store keeps the answer with its caching headers (an envelope), so a
 * replica answered by the store knows the answer's validators and windows; the lifetime is only
 * known after the fetch, so the store's entry is re-set to it (the v1 contract fixes `ttlMs`
 * before the fetch). An answer that must not be stored (`no-store`, `private`, `Vary: *`) fails
 * the fleet fetch on purpose: the store keeps nothing and the waiters fetch for themselves. A
 * `304` to this replica's conditional request is stored as the value it revalidated, so one
 * conditional request refreshes the fleet.
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
      let answered304 = false
      const fetch = () =>
        next(call).then((value) => {
          if (!honorHeaders) return value
          const stored = call.revalidating
          answered304 = value === notModified && stored !== undefined
          const headers = answered304
            ? { ...stored?.headers, ...call.responseHeaders }
            : (call.responseHeaders ?? {})
          const body = answered304 ? stored?.value : value
          if (freshnessOf(headers, ttlMs, true).notStored !== undefined) {
            throw new NotShareable(value)
          }
          return { [envelope]: 1, value: body, headers: cachingHeaders(headers) }
        })
      return store
        .load(prefix + key, fetch, {
          ttlMs,
          ...(Number.isFinite(call.deadlineMs) ? { waitMs: call.deadlineMs / 2 } : {}),
        })
        .then(
          (result) => {
            const opened = open(result.value)
            if (result.source === 'store') {
              // Reported by `onCallEnd` (and the call's span): answered by the fleet, no attempt here.
              call.outcome = 'store'
              call.entryTtlMs = result.ttlMs
              if (opened.headers !== undefined) call.responseHeaders = opened.headers
            } else if (result.source === 'fetch' && opened.headers !== undefined) {
              const lifetimeMs = freshnessOf(opened.headers, ttlMs, true).lifetimeMs
              if (lifetimeMs < 1) void store.delete(prefix + key)
              else if (lifetimeMs < ttlMs) void store.set(prefix + key, result.value, lifetimeMs)
            }
            if (result.bytes !== undefined) call.responseBytes = result.bytes
            return answered304 ? notModified : opened.value
          },
          (error: unknown) => {
            if (error instanceof NotShareable) return error.value
            throw error
          },
        )
    },
  }
}

/** Private: the marker of a shared entry that carries its caching headers. */
const envelope = 'userevents.http.v1'

/** Private: thrown by the fleet fetch of an answer the store must not keep (see above). */
class NotShareable {
  constructor(readonly value: unknown) {}
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
