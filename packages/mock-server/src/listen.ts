import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { CoreAnswer, CoreRequest } from './core/exchange.js'
import { type CoreRoute, createRouter, type RouteMatch } from './core/route.js'

/** Options of `MockUpstream.listen()`. */
export interface ListenOptions {
  /** Port; `0` (default) picks a free one. */
  port?: number
  /** Interface to bind. Default `'127.0.0.1'`. */
  host?: string
  /** How long an idle keep-alive connection stays open, in ms. Default `5000`. */
  keepAliveTimeoutMs?: number
}

/** A running loopback server. */
export interface MockServerHandle {
  /** Base URL to point clients at, e.g. `http://127.0.0.1:53412` (plus the mock's base path). */
  url: string
  /** The bound port. */
  port: number
  /** Stops accepting connections, closes every open connection, and resolves once closed. */
  close(): Promise<void>
}

// Hop-by-hop headers describe the client's connection to us, not the request to the mock.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'proxy-connection',
])

/**
 * Internal: serves the core routes on a real node:http server. The routes are the same objects
 * msw's handlers adapt, so there is one definition of behaviour; this transport matches them with
 * its own small router and reads the node request directly: no Fetch `Request`/`Response` and no
 * msw pipeline per request (which made the real port 0.16 × a bare node:http server). A network
 * error destroys the socket, as a dropped connection would; no matching route answers a JSON `404`.
 */
export async function serveRoutes(
  routes: readonly CoreRoute[],
  baseUrl: string,
  options: ListenOptions = {},
): Promise<MockServerHandle> {
  const base = new URL(baseUrl)
  const basePath = base.pathname === '/' ? '' : base.pathname.replace(/\/+$/, '')
  const match = createRouter(routes)
  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(match, basePath, req, res)
  })
  server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 5000
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const { port } = server.address() as AddressInfo
  const hostForUrl = host.includes(':') ? `[${host}]` : host
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostForUrl}:${port}${basePath}`,
    port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        // `close()` only stops accepting; idle keep-alive sockets would hold it open until their
        // timeout, and pending requests (e.g. a 500 ms getEventById) until they finish. Closing
        // them aborts those requests, whose delays then end at once.
        server.closeAllConnections()
      })
      return closing
    },
  }
}

/** Private: routes one node request to its core route and writes the answer. */
function handle(
  match: (method: string, pathname: string) => RouteMatch | undefined,
  basePath: string,
  req: IncomingMessage,
  res: ServerResponse,
): void {
  const target = req.url ?? '/'
  const q = target.indexOf('?')
  const pathname = q === -1 ? target : target.slice(0, q)
  const method = req.method ?? 'GET'
  const inBase = basePath === '' || pathname === basePath || pathname.startsWith(`${basePath}/`)
  const found = inBase ? match(method, pathname.slice(basePath.length)) : undefined
  if (found === undefined) {
    writeJson(res, 404, { error: 'Not Found', message: `No route for ${method} ${target}` })
    return
  }
  const request = new NodeCoreRequest(req, res, method, target, q === -1 ? '' : target.slice(q + 1))
  found.route.serve(request, found.params).then(
    (answer) => writeAnswer(req, res, answer),
    (error: unknown) => {
      if (!res.headersSent) {
        writeJson(res, 500, { error: 'Internal Server Error', message: String(error) })
      } else {
        res.destroy()
      }
    },
  )
}

/** Private: a node:http request read as a {@link CoreRequest}, converting only what is read. */
class NodeCoreRequest implements CoreRequest {
  readonly method: string
  readonly target: string
  readonly query: string
  readonly #req: IncomingMessage
  readonly #res: ServerResponse
  #controller: AbortController | undefined

  constructor(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    target: string,
    query: string,
  ) {
    this.#req = req
    this.#res = res
    this.method = method
    this.target = target
    this.query = query
  }

  header(name: string): string | undefined {
    const value = this.#req.headers[name]
    return Array.isArray(value) ? value.join(', ') : value
  }

  headers(): Record<string, string> {
    const out: Record<string, string> = {}
    const raw = this.#req.headers
    for (const name in raw) {
      const value = raw[name]
      if (value === undefined || HOP_BY_HOP.has(name)) continue
      out[name] = Array.isArray(value) ? value.join(', ') : value
    }
    return out
  }

  // The response closes before it finished exactly when the client went away (or close() cut
  // the connection); after a finished answer nobody reads this any more.
  get aborted(): boolean {
    return this.#res.closed && !this.#res.writableFinished
  }

  // Created on first use only: a request without a delay never needs it, and an AbortController
  // plus a close listener per request was a measurable share of the old per-request cost.
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      const controller = new AbortController()
      this.#controller = controller
      if (this.aborted) controller.abort()
      else {
        const res = this.#res
        res.once('close', () => {
          if (!res.writableFinished) controller.abort()
        })
      }
    }
    return this.#controller.signal
  }

  async json(): Promise<unknown> {
    const chunks: Buffer[] = []
    for await (const chunk of this.#req) chunks.push(chunk as Buffer)
    try {
      return JSON.parse(Buffer.concat(chunks).toString('utf8'))
    } catch {
      return undefined
    }
  }
}

/** Private: writes the core's answer, unless the client has gone away meanwhile. */
function writeAnswer(req: IncomingMessage, res: ServerResponse, answer: CoreAnswer): void {
  if (res.closed) return
  if (answer.kind === 'network-error') {
    req.socket.destroy()
    return
  }
  writeJson(res, answer.status, answer.body, answer.headers)
}

/** Private: one JSON answer with its length; header names as the core wrote them. */
function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): void {
  if (status === 304) {
    // A 304 has no body (RFC 9110 §15.4.5).
    res.writeHead(status, headers)
    res.end()
    return
  }
  const payload = JSON.stringify(body)
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  })
  res.end(payload)
}
