import { checks } from './checks.js'
import { ROUTE_NAMES } from './counters.js'
import type { RouteName } from './types.js'

// The `cacheHeaders` option: its types and validation (a foundation: `options.ts` reads it, the
// core's `http-cache.ts` serves it).

/**
 * HTTP caching headers one data route sends with its `2xx` answers (RFC 9111), and the
 * conditional requests it answers with `304 Not Modified`. By default a route sends none, as the
 * original upstream does.
 *
 * @example
 * createMockUpstream({ cacheHeaders: { getEvents: { cacheControl: 'max-age=5', etag: true } } })
 */
export interface RouteCacheHeaders {
  /** Sent as `Cache-Control`, e.g. `'max-age=5, stale-while-revalidate=30'`. */
  cacheControl?: string
  /**
   * `true` sends a strong `ETag` computed from the body, and answers a matching
   * `If-None-Match` with `304`.
   */
  etag?: boolean
  /** Sent as `Last-Modified` (an HTTP date); an `If-Modified-Since` not before it gets `304`. */
  lastModified?: string
  /** Sent as `Vary`, e.g. `'accept-language'`. */
  vary?: string
}

/** Caching headers by data route (the `cacheHeaders` option). */
export type CacheHeadersOption = Partial<Record<RouteName, RouteCacheHeaders>>

/** Internal: validates the `cacheHeaders` option (or an admin body); throws quoting the value. */
export function checkCacheHeaders(option: string, value: unknown): CacheHeadersOption {
  if (value === undefined) return {}
  if (typeof value !== 'object' || value === null) checks.fail(option, 'an object', value)
  checks.rejectUnknown(`${option}.`, value as object, ROUTE_NAMES)
  const checked: CacheHeadersOption = {}
  for (const [route, headers] of Object.entries(value as Record<string, unknown>)) {
    checked[route as RouteName] = checkRoute(`${option}.${route}`, headers)
  }
  return checked
}

/** Private: validates one route's headers. */
function checkRoute(option: string, value: unknown): RouteCacheHeaders {
  if (typeof value !== 'object' || value === null) checks.fail(option, 'an object', value)
  checks.rejectUnknown(`${option}.`, value as object, [
    'cacheControl',
    'etag',
    'lastModified',
    'vary',
  ])
  const given = value as Record<string, unknown>
  for (const key of ['cacheControl', 'vary', 'lastModified']) {
    const v = given[key]
    if (v !== undefined && (typeof v !== 'string' || v === '' || /[\r\n]/.test(v)))
      checks.fail(`${option}.${key}`, 'a non-empty header value', v)
  }
  if (given.lastModified !== undefined && Number.isNaN(Date.parse(given.lastModified as string)))
    checks.fail(`${option}.lastModified`, 'an HTTP date', given.lastModified)
  if (given.etag !== undefined && typeof given.etag !== 'boolean')
    checks.fail(`${option}.etag`, 'a boolean', given.etag)
  return given as RouteCacheHeaders
}
