/**
 * Revalidation benchmark: a page of 50 events (`GET /getEvents?userId=1&limit=50` on the mock
 * server, a real port on 127.0.0.1) refreshed after expiry, N times in a row, two ways:
 *
 * - full refetch: the answer is `Cache-Control: no-cache` without a validator, so every use
 *   after expiry moves the whole body again (what the cache did for every expiry before);
 * - revalidation: the same answer with an `ETag`, so every refresh is a conditional request
 *   answered `304` without a body, and the client serves its stored page.
 *
 * `no-cache` makes every use a refresh after expiry (lifetime 0), so the loop measures only
 * refreshes. Bytes are the response bodies received (sum of `content-length`) and every byte
 * written to TCP sockets in this process (the client's requests and the mock's responses, heads
 * included: the mock and the client share the process).
 *
 * Run: `npx tsx bench/revalidation.bench.ts` in packages/upstream-client (after `pnpm build` of
 * the mock server is not needed: sources are imported); `N=…` sets the refreshes per round. Bounded: a few seconds.
 */
import os from 'node:os'
import { createMockUpstream, generateUserWithEvents } from '../../mock-server/src/index.js'
import { createUpstreamClient } from '../src/index.js'

const N = Number(process.env.N ?? 2_000)
const ROUNDS = 3

interface Result {
  mode: string
  refreshes: number
  bodyBytes: number
  socketBytes: number
  status: Record<string, number>
  ms: number
}

async function run(mode: 'full' | 'revalidate'): Promise<Result> {
  const mock = createMockUpstream({
    mode: 'healthy',
    delays: 0,
    recordRequests: 0,
    data: generateUserWithEvents(50, { detailsLength: 64 }),
    cacheHeaders: {
      getEvents:
        mode === 'full' ? { cacheControl: 'no-cache' } : { cacheControl: 'no-cache', etag: true },
    },
  })
  const server = await mock.listen()
  const client = createUpstreamClient({
    baseUrl: server.url,
    cache: { ttlMs: 60_000 },
    retry: false,
    breaker: false,
  })
  let bodyBytes = 0
  const status: Record<string, number> = {}
  client.onResponse((e) => {
    bodyBytes += Number(e.headers['content-length'] ?? 0)
    status[e.status] = (status[e.status] ?? 0) + 1
  })
  const path = '/getEvents?userId=1&limit=50'
  const first = (await client.get<unknown[]>(path)).length
  if (first !== 50) throw new Error(`expected a page of 50 events, got ${first}`)
  bodyBytes = 0
  for (const key of Object.keys(status)) delete status[key]
  const socketsBefore = serverBytesWritten()
  const start = performance.now()
  for (let i = 0; i < N; i++) await client.get(path)
  const ms = performance.now() - start
  const socketBytes = serverBytesWritten() - socketsBefore
  await client.close()
  await server.close()
  return { mode, refreshes: N, bodyBytes, socketBytes, status, ms }
}

// Bytes this process wrote to TCP sockets: requests and responses (the mock and the client share
// the process), counted by wrapping `Socket.prototype.write` before any socket exists.
let written = 0
function serverBytesWritten(): number {
  return written
}
const net = await import('node:net')
const originalWrite = net.Socket.prototype.write
net.Socket.prototype.write = function (this: import('node:net').Socket, ...args: unknown[]) {
  const chunk = args[0]
  if (typeof chunk === 'string') written += Buffer.byteLength(chunk)
  else if (chunk instanceof Uint8Array) written += chunk.byteLength
  return (originalWrite as (...a: unknown[]) => boolean).apply(this, args)
} as typeof net.Socket.prototype.write

const results: Result[] = []
for (let r = 0; r < ROUNDS; r++) {
  results.push(await run('full'))
  results.push(await run('revalidate'))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const summary = (['full', 'revalidate'] as const).map((mode) => {
  const rs = results.filter((r) => r.mode === mode)
  const ms = median(rs.map((r) => r.ms))
  return {
    mode,
    refreshes: N,
    bodyBytesPerRefresh: median(rs.map((r) => r.bodyBytes)) / N,
    socketBytesPerRefresh: Math.round(median(rs.map((r) => r.socketBytes)) / N),
    msTotal: Math.round(ms),
    usPerRefresh: Math.round((ms * 1000) / N),
    status: rs[0]?.status,
  }
})
console.log(
  JSON.stringify(
    { loadavg: os.loadavg().map((l) => l.toFixed(2)), cpus: os.cpus().length, summary },
    null,
    2,
  ),
)
