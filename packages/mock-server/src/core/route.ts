import type { CoreAnswer, CoreRequest } from './exchange.js'

/**
 * Internal: one route of the mock, written once and served by both transports: msw registers
 * `http.get(baseUrl + path, …)` for it (`mock.handlers`), `listen()` matches it with
 * {@link createRouter}.
 */
export interface CoreRoute {
  readonly method: 'GET' | 'POST'
  /** Path relative to the base path; a `:name` segment matches one path segment. */
  readonly path: string
  /** Serves one request; `params` holds the `:name` segments, decoded. */
  readonly serve: (
    request: CoreRequest,
    params: Readonly<Record<string, string>>,
  ) => Promise<CoreAnswer>
}

/** Internal: a matched route with its path parameters. */
export interface RouteMatch {
  readonly route: CoreRoute
  readonly params: Readonly<Record<string, string>>
}

/**
 * Internal: the router of `listen()`: static paths by one map lookup, `/prefix/:name` routes by
 * their prefix. It follows msw's matching for the shapes the mock uses (one trailing parameter
 * segment, decoded), which `test/listen.test.ts` checks against the in-process handlers.
 */
export function createRouter(
  routes: readonly CoreRoute[],
): (method: string, pathname: string) => RouteMatch | undefined {
  const exact = new Map<string, RouteMatch>()
  const prefixed: { method: string; prefix: string; name: string; route: CoreRoute }[] = []
  for (const route of routes) {
    const colon = route.path.indexOf('/:')
    if (colon === -1) exact.set(`${route.method} ${route.path}`, { route, params: NO_PARAMS })
    else {
      prefixed.push({
        method: route.method,
        prefix: route.path.slice(0, colon + 1),
        name: route.path.slice(colon + 2),
        route,
      })
    }
  }
  return (method, pathname) => {
    const hit = exact.get(`${method} ${pathname}`)
    if (hit !== undefined) return hit
    for (const p of prefixed) {
      if (p.method !== method || !pathname.startsWith(p.prefix)) continue
      const segment = pathname.slice(p.prefix.length)
      if (segment === '' || segment.includes('/')) continue
      return { route: p.route, params: { [p.name]: decodeSegment(segment) } }
    }
    return undefined
  }
}

const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({})

/** Private: a percent-decoded segment; a malformed escape stays as sent, as msw leaves it. */
function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
