import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** A `node:http` upstream on 127.0.0.1:0 that records each request and lets the test answer it. */
export interface RecordingUpstream {
  url: string
  requests: { method: string; url: string; headers: IncomingHttpHeaders }[]
  /** Responses not yet answered (`hold: true`), in arrival order. */
  held: ServerResponse[]
  /** Resolves once `n` requests have arrived. */
  waitForRequests(n: number): Promise<void>
  close(): Promise<void>
}

/**
 * Starts a recording upstream. Every request gets `answer(url)` as JSON, or is held open when
 * `hold(url)` is true (for caller-gone tests), until the test ends it.
 */
export async function startRecordingUpstream(
  answer: (url: string) => unknown = () => ({ ok: true }),
  hold: (url: string) => boolean = () => false,
): Promise<RecordingUpstream> {
  const requests: RecordingUpstream['requests'] = []
  const held: ServerResponse[] = []
  const waiters: { n: number; resolve: () => void }[] = []
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers })
      for (const w of waiters.filter((w) => requests.length >= w.n)) w.resolve()
      if (hold(req.url ?? '')) {
        held.push(res)
        return
      }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(answer(req.url ?? '')))
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    held,
    waitForRequests: (n) =>
      requests.length >= n
        ? Promise.resolve()
        : new Promise((resolve) => waiters.push({ n, resolve })),
    close: () =>
      new Promise((resolve) => {
        for (const res of held) res.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
