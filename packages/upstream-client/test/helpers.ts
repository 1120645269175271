import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach } from 'vitest'
import type { Clock, Logger, UpstreamClient } from '../src/index.js'

/** A loopback server started by a test; counts requests and TCP connections. */
export interface TestServer {
  origin: string
  /** Requests received so far. */
  requests: number
  /** TCP connections accepted so far. */
  connections: number
  /** Requests received, in order (method, url, headers, body). */
  log: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[]
  close(): Promise<void>
}

export type Handler = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  n: number,
) => void | Promise<void>

/** Starts a node:http server on 127.0.0.1, port 0. `n` is the 1-based request number. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const state: TestServer = {
    origin: '',
    requests: 0,
    connections: 0,
    log: [],
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = http.createServer((req, res) => {
    const n = ++state.requests
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      state.log.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      })
      void handler(req, res, n)
    })
  })
  server.keepAliveTimeout = 30_000
  server.on('connection', () => {
    state.connections++
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}

/** What a test opened; `closeAfterEach` closes it. Tests assign the fields as they start things. */
export interface OpenResources {
  server: TestServer | undefined
  client: UpstreamClient | undefined
}

/**
 * Registers an `afterEach` that closes the server and client the test stored in the returned
 * object, then empties it so the next test starts with nothing open.
 */
export function closeAfterEach(): OpenResources {
  const open: OpenResources = { server: undefined, client: undefined }
  afterEach(async () => {
    // Server first: dropping its sockets ends requests a failed test left hanging, so the pool's
    // graceful close cannot wait for them.
    await open.server?.close()
    await open.client?.close()
    open.client = undefined
    open.server = undefined
  })
  return open
}

/** Writes a JSON response. */
export function json(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  })
  res.end(text)
}

/** A port with nothing listening (bound, then released). */
export async function refusedOrigin(): Promise<string> {
  const server = http.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return `http://127.0.0.1:${port}`
}

/**
 * A manual clock: time only moves when the test calls `advance`, which fires due timers in order.
 * `pending(ms)` tells whether a timer of exactly `ms` is scheduled, so a test can wait for the
 * client to reach a given wait before moving time.
 */
export class TestClock implements Clock {
  #now = 1_700_000_000_000
  #timers = new Set<{ at: number; ms: number; fn: () => void }>()

  now(): number {
    return this.#now
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer = { at: this.#now + ms, ms, fn }
    this.#timers.add(timer)
    return timer
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as { at: number; ms: number; fn: () => void })
  }

  /** Delays of the timers currently scheduled. */
  pendingDelays(): number[] {
    return [...this.#timers].map((t) => t.ms)
  }

  /**
   * Moves time without running the timers that fall due: what a busy event loop does, running
   * I/O callbacks before the timers that are already late.
   */
  skip(ms: number): void {
    this.#now += ms
  }

  advance(ms: number): void {
    const target = this.#now + ms
    for (;;) {
      const due = [...this.#timers].filter((t) => t.at <= target).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      this.#timers.delete(due)
      this.#now = due.at
      due.fn()
    }
    this.#now = target
  }
}

/** A pino-shaped logger that records lines (an external collaborator, not our code). */
export function recordingLogger() {
  const lines: {
    level: string
    bindings: Record<string, unknown>
    fields: object
    msg?: string
  }[] = []
  const make = (bindings: Record<string, unknown>): Logger => ({
    child: (more) => make({ ...bindings, ...more }),
    debug: (fields, msg) => lines.push({ level: 'debug', bindings, fields, msg }),
    info: (fields, msg) => lines.push({ level: 'info', bindings, fields, msg }),
    warn: (fields, msg) => lines.push({ level: 'warn', bindings, fields, msg }),
    error: (fields, msg) => lines.push({ level: 'error', bindings, fields, msg }),
  })
  return { logger: make({}), lines }
}
