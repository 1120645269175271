import { HttpResponse, http, type JsonBodyType, type RequestHandler } from 'msw'
import type { CoreAnswer, CoreRequest } from './core/exchange.js'
import type { CoreRoute } from './core/route.js'

/**
 * Internal: the msw adapters of the core routes, bound to `baseUrl`: what `mock.handlers` holds
 * for `setupServer()`. Each converts msw's Fetch `Request` to a {@link CoreRequest} and the core's
 * answer to a Fetch `Response`; the behaviour itself is the route's, shared with `listen()`.
 */
export function createHandlers(routes: readonly CoreRoute[], baseUrl: string): RequestHandler[] {
  return routes.map((route) => {
    const register = route.method === 'GET' ? http.get : http.post
    return register(`${baseUrl}${route.path}`, async ({ request, params }) =>
      toResponse(
        await route.serve(new FetchCoreRequest(request), params as Record<string, string>),
      ),
    )
  })
}

/** Private: msw's Fetch `Request` read as a {@link CoreRequest}. */
class FetchCoreRequest implements CoreRequest {
  readonly method: string
  readonly target: string
  readonly query: string
  readonly #request: Request

  constructor(request: Request) {
    const url = new URL(request.url)
    this.#request = request
    this.method = request.method
    this.target = url.pathname + url.search
    this.query = url.search.slice(1)
  }

  header(name: string): string | undefined {
    return this.#request.headers.get(name) ?? undefined
  }

  headers(): Record<string, string> {
    return Object.fromEntries(this.#request.headers)
  }

  get aborted(): boolean {
    return this.#request.signal.aborted
  }

  get signal(): AbortSignal {
    return this.#request.signal
  }

  async json(): Promise<unknown> {
    try {
      return await this.#request.json()
    } catch {
      return undefined
    }
  }
}

/** Private: the core's answer as a Fetch `Response` (a network error as `Response.error()`). */
function toResponse(answer: CoreAnswer): Response {
  if (answer.kind === 'network-error') return HttpResponse.error()
  if (answer.status === 304) return new HttpResponse(null, { status: 304, headers: answer.headers })
  // The core only answers JSON values it built itself.
  return HttpResponse.json(answer.body as JsonBodyType, {
    status: answer.status,
    ...(answer.headers === undefined ? {} : { headers: answer.headers }),
  })
}
