import { type CacheHeadersOption, checkCacheHeaders } from '../cache-headers.js'
import type { MockState } from '../state.js'
import type { RouteName } from '../types.js'
import { badRequest, type CoreAnswer, type CoreRequest, json } from './exchange.js'
import type { CoreRoute } from './route.js'

/**
 * Internal: the last per-request step of a data route: adds the route's caching headers to a
 * `2xx` answer, or turns it into a bodyless `304` when the request's validator matches.
 */
export function withCacheHeaders(
  state: MockState,
  name: RouteName,
  request: CoreRequest,
  answer: CoreAnswer,
): CoreAnswer {
  const config = tableOf(state)[name]
  if (config === undefined || answer.kind !== 'json' || answer.status < 200 || answer.status > 299)
    return answer
  const headers: Record<string, string> = { ...answer.headers }
  if (config.cacheControl !== undefined) headers['Cache-Control'] = config.cacheControl
  if (config.vary !== undefined) headers.Vary = config.vary
  if (config.lastModified !== undefined) headers['Last-Modified'] = config.lastModified
  const etag = config.etag === true ? etagOf(answer.body) : undefined
  if (etag !== undefined) headers.ETag = etag
  if (request.method === 'GET' && notModified(request, etag, config.lastModified)) {
    return { kind: 'json', status: 304, body: undefined, headers }
  }
  return json(answer.body, headers, answer.status)
}

/**
 * Internal: the admin routes of the caching headers: `GET /__admin/cache-headers` reads them,
 * `POST /__admin/cache-headers` replaces them (`{ getEvents: { cacheControl: 'max-age=5' } }`;
 * `{}` turns them off). Not counted, not recorded.
 */
export function cacheHeaderRoutes(state: MockState): CoreRoute[] {
  return [
    {
      method: 'GET',
      path: '/__admin/cache-headers',
      serve: async () => json(tableOf(state)),
    },
    {
      method: 'POST',
      path: '/__admin/cache-headers',
      serve: async (request) => {
        try {
          tables.set(state, checkCacheHeaders('cacheHeaders', await request.json()))
          return json(tableOf(state))
        } catch (error) {
          return badRequest((error as Error).message)
        }
      },
    },
  ]
}

/** Internal: replaces the caching headers of a mock instance (`mock.setCacheHeaders`). */
export function setCacheHeaders(state: MockState, value: unknown): void {
  tables.set(state, checkCacheHeaders('cacheHeaders', value))
}

/** Private: each instance's current table; the `cacheHeaders` option until changed. */
const tables = new WeakMap<MockState, CacheHeadersOption>()

/** Private: the current table of an instance. */
function tableOf(state: MockState): CacheHeadersOption {
  let table = tables.get(state)
  if (table === undefined) {
    table = state.options.cacheHeaders
    tables.set(state, table)
  }
  return table
}

/** Private: whether a conditional request's validator matches (RFC 9110 §13.1.2, §13.1.3). */
function notModified(
  request: CoreRequest,
  etag: string | undefined,
  lastModified: string | undefined,
): boolean {
  const ifNoneMatch = request.header('if-none-match')
  if (ifNoneMatch !== undefined) {
    if (etag === undefined) return false
    return ifNoneMatch
      .split(',')
      .map((tag) => tag.trim().replace(/^W\//, ''))
      .some((tag) => tag === '*' || tag === etag)
  }
  const since = request.header('if-modified-since')
  if (since === undefined || lastModified === undefined) return false
  const sinceMs = Date.parse(since)
  return !Number.isNaN(sinceMs) && sinceMs >= Date.parse(lastModified)
}

/** Private: a strong ETag of a JSON body (FNV-1a of its text: portable, no crypto needed). */
function etagOf(body: unknown): string {
  const text = JSON.stringify(body) ?? ''
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return `"${hash.toString(16).padStart(8, '0')}-${text.length.toString(16)}"`
}
