import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getResponse, type RequestHandler } from 'msw'

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
 * Serves msw handlers on a real node:http server. Every incoming request becomes a Fetch
 * `Request` against `baseUrl` and is resolved with msw's `getResponse()`, so there is exactly one
 * router: the handlers. A network-error response (`HttpResponse.error()`) destroys the socket, as
 * a dropped connection would; no matching handler answers a JSON `404`.
 */
export async function serveHandlers(
  handlers: RequestHandler[],
  baseUrl: string,
  options: ListenOptions = {},
): Promise<MockServerHandle> {
  const base = new URL(baseUrl)
  const server = createServer({ keepAlive: true }, (req, res) => {
    handle(handlers, base, req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ error: 'Internal Server Error', message: String(error) }))
      } else {
        res.destroy()
      }
    })
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
  const path = base.pathname === '/' ? '' : base.pathname
  let closing: Promise<void> | undefined
  return {
    url: `http://${hostForUrl}:${port}${path}`,
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

/** Private: converts one node request, resolves it against the handlers, writes the answer. */
async function handle(
  handlers: RequestHandler[],
  base: URL,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const controller = new AbortController()
  // The client going away aborts the Request, so handler delays stop waiting for nobody.
  res.once('close', () => {
    if (!res.writableFinished) controller.abort()
  })
  const headers = new Headers()
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v)
  }
  const method = req.method ?? 'GET'
  const hasBody = method !== 'GET' && method !== 'HEAD'
  const body = hasBody ? await readBody(req) : undefined
  const request = new Request(new URL(req.url ?? '/', base.origin), {
    method,
    headers,
    body,
    signal: controller.signal,
  })
  const response = await getResponse(handlers, request)
  if (controller.signal.aborted) return
  if (!response) {
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'Not Found', message: `No route for ${method} ${req.url}` }))
    return
  }
  if (response.type === 'error') {
    req.socket.destroy()
    return
  }
  const payload = Buffer.from(await response.arrayBuffer())
  const out: Record<string, string | string[]> = {}
  response.headers.forEach((value, name) => {
    if (name !== 'content-length' && name !== 'transfer-encoding') out[name] = value
  })
  out['content-length'] = String(payload.byteLength)
  res.writeHead(response.status, response.statusText || undefined, out)
  res.end(payload)
}

/** Private: the whole request body. Bodies here are small JSON documents. */
async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}
