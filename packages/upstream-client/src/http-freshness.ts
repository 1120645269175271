/**
 * @internal HTTP caching rules (RFC 9111) as the client's shared GET cache applies them: which
 * answers may be stored, for how long they are fresh, which validators and stale windows they
 * carry, and which request headers they vary on. A foundation: pure functions of the response
 * headers and the clock's `now`, read by the cache, the shared tier and the aggregator.
 *
 * Hand-written rather than `http-cache-semantics`: that library reads `Date.now()` itself (our
 * clock is injected), decides lifetimes without an upper bound (our `ttlMs` caps them) and
 * keeps its state in an object we would have to serialise for the shared tier; the rules a
 * shared cache of JSON GETs needs are the few below.
 */

/** Response headers as undici hands them over (lower-case names). */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>

/** Why an answer was not stored (see {@link Freshness.notStored}). */
export type NotStoredReason = 'no-store' | 'private' | 'vary-star'

/** @internal What the cache keeps about one answer's cacheability. */
export interface Freshness {
  /** Why the answer must not be stored, or undefined when it may be. */
  notStored: NotStoredReason | undefined
  /** Time the answer is fresh for, from now, in ms (0: revalidate before any use). */
  lifetimeMs: number
  /** `stale-while-revalidate` window after the lifetime, in ms. */
  staleWhileRevalidateMs: number
  /** `stale-if-error` window after the lifetime, in ms (undefined: not given). */
  staleIfErrorMs: number | undefined
  /** `must-revalidate` / `proxy-revalidate` / `s-maxage`: never serve it stale. */
  mustRevalidate: boolean
  /** The `ETag` validator. */
  etag: string | undefined
  /** The `Last-Modified` validator. */
  lastModified: string | undefined
  /** The request headers the answer varies on (lower-case, sorted). */
  vary: readonly string[]
}

/**
 * @internal The cacheability of an answer received now. `ttlMs` is the lifetime when the answer
 * gives none and an upper bound when it does; with `honorHeaders` false every answer is fresh
 * for `ttlMs` (the behaviour before the cache read headers).
 */
export function freshnessOf(
  headers: ResponseHeaders | undefined,
  ttlMs: number,
  honorHeaders: boolean,
): Freshness {
  const plain: Freshness = {
    notStored: undefined,
    lifetimeMs: ttlMs,
    staleWhileRevalidateMs: 0,
    staleIfErrorMs: undefined,
    mustRevalidate: false,
    etag: undefined,
    lastModified: undefined,
    vary: [],
  }
  if (!honorHeaders || headers === undefined) return plain
  const cc = parseCacheControl(headerOf(headers, 'cache-control'))
  const vary = parseVary(headerOf(headers, 'vary'))
  const notStored: NotStoredReason | undefined = cc.has('no-store')
    ? 'no-store'
    : cc.has('private')
      ? 'private'
      : vary === '*'
        ? 'vary-star'
        : undefined
  const explicit = explicitLifetimeMs(cc, headers)
  const ageMs = seconds(headerOf(headers, 'age')) * 1000
  const lifetimeMs = cc.has('no-cache')
    ? 0
    : Math.max(0, Math.min(ttlMs, explicit === undefined ? ttlMs : explicit - ageMs))
  const sie = cc.get('stale-if-error')
  return {
    notStored,
    lifetimeMs,
    staleWhileRevalidateMs: seconds(cc.get('stale-while-revalidate')) * 1000,
    staleIfErrorMs: sie === undefined ? undefined : seconds(sie) * 1000,
    mustRevalidate: cc.has('must-revalidate') || cc.has('proxy-revalidate') || cc.has('s-maxage'),
    etag: headerOf(headers, 'etag'),
    lastModified: headerOf(headers, 'last-modified'),
    vary: vary === '*' ? [] : vary,
  }
}

/**
 * @internal Parses `Cache-Control` into directive → argument (`''` when it has none); names are
 * lower-cased, quotes removed; the first occurrence of a directive wins (RFC 9111 §4.2.1).
 */
export function parseCacheControl(value: string | undefined): Map<string, string> {
  const directives = new Map<string, string>()
  if (value === undefined) return directives
  for (const part of value.split(',')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase()
    if (name === '' || directives.has(name)) continue
    const arg = eq === -1 ? '' : part.slice(eq + 1).trim()
    directives.set(name, arg.startsWith('"') && arg.endsWith('"') ? arg.slice(1, -1) : arg)
  }
  return directives
}

/** @internal The names in a `Vary` header, lower-cased and sorted, or `'*'`. */
export function parseVary(value: string | undefined): string[] | '*' {
  if (value === undefined) return []
  const names = value
    .split(',')
    .map((name) => name.trim().toLowerCase())
    .filter((name) => name !== '')
  return names.includes('*') ? '*' : [...new Set(names)].sort()
}

/** @internal A response header as one string (several values joined by `, `). */
export function headerOf(headers: ResponseHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

/**
 * Private: `s-maxage` (this is a shared cache), then `max-age`, then `Expires` minus `Date`, in
 * ms; undefined when the answer gives no lifetime. An `Expires` that does not parse means
 * "already expired" (RFC 9111 §5.3).
 */
function explicitLifetimeMs(cc: Map<string, string>, headers: ResponseHeaders): number | undefined {
  const shared = cc.get('s-maxage') ?? cc.get('max-age')
  if (shared !== undefined) return seconds(shared) * 1000
  const expires = headerOf(headers, 'expires')
  if (expires === undefined) return undefined
  const expiresAt = Date.parse(expires)
  const date = Date.parse(headerOf(headers, 'date') ?? '')
  if (Number.isNaN(expiresAt) || Number.isNaN(date)) return 0
  return Math.max(0, expiresAt - date)
}

/** Private: a delta-seconds value; anything that is not a non-negative integer counts as 0. */
function seconds(value: string | undefined): number {
  if (value === undefined || !/^\d+$/.test(value)) return 0
  return Number(value)
}
