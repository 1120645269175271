/**
 * `pnpm --filter @userevents/example-event-service bench`: the built service (`node dist/main.js`,
 * what `pnpm start` runs) against a bare Fastify 5 app serving the same bytes, both as child
 * processes at the service's default log level, both loaded by autocannon from this process with
 * the same settings, in interleaved slices, route by route, in one run. Prints requests per second,
 * p99 and the ratios for a warm page, a cached `/getUsers` and `/healthz`.
 *
 * The mock upstream runs here (healthy, no delays); caches are set longer than the run and each
 * URL is requested once before measuring, so the upstream is out of the measured path: what is
 * measured is the per-request cost of the service's HTTP layer against Fastify's own.
 *
 * Knobs: BENCH_SECONDS (default 12, per route and app, in 6 interleaved slices), BENCH_CONNECTIONS
 * (default 50), LOG_LEVEL (default: the service's default, `info`), BENCH_OTEL=1 to measure the
 * service with its OpenTelemetry SDK on (default off, `OTEL_SDK_DISABLED=true`: the hot-path
 * targets are stated for the SDK off; with it on every request records a server span).
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMockUpstream } from '@userevents/mock-server'
import autocannon from 'autocannon'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 12)
/** Each app gets SECONDS per route, in ROUNDS interleaved slices. */
const ROUNDS = 6
const SLICE_SECONDS = Math.max(1, Math.round(SECONDS / ROUNDS))
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const LOG_LEVEL = process.env.LOG_LEVEL ?? ''
const OTEL = process.env.BENCH_OTEL === '1'
const here = fileURLToPath(new URL('.', import.meta.url))
const main = join(here, '..', 'dist', 'main.js')

const ROUTES = [
  { name: 'warm page (2 events)', path: '/getEventsByUserId/1', target: 0.5 },
  { name: 'GET /getUsers (cached)', path: '/getUsers', target: undefined },
  { name: 'GET /healthz', path: '/healthz', target: 0.8 },
] as const

const children: ChildProcess[] = []
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

const load = () => execSync('uptime').toString().trim()
console.log(
  `service benchmark: ${ROUNDS} interleaved slices of ${SLICE_SECONDS} s per route and app, ${CONNECTIONS} connections`,
)
console.log(`node ${process.version}; load before: ${load()}`)

const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })

const servicePort = await freePort()
start(process.execPath, [main], {
  PORT: String(servicePort),
  UPSTREAM_BASE: upstream.url,
  LOG_LEVEL,
  // Longer than the run: a page is assembled from cache, /getUsers is answered from cache.
  CACHE_TTL_MS: '3600000',
  LIST_CACHE_TTL_MS: '3600000',
  OTEL_SDK_DISABLED: OTEL ? 'false' : 'true',
})
console.log(`service OpenTelemetry SDK: ${OTEL ? 'on' : 'off'} (BENCH_OTEL=1 turns it on)`)
const serviceUrl = `http://127.0.0.1:${servicePort}`
await waitUntilUp(serviceUrl)

// Warm each URL once, and keep the exact answer for the bare app.
const responses = []
for (const route of ROUTES) {
  const res = await fetch(serviceUrl + route.path)
  if (res.status !== 200) throw new Error(`${route.path} answered ${res.status}`)
  responses.push({
    path: route.path,
    contentType: res.headers.get('content-type'),
    body: await res.text(),
  })
}
const file = join(tmpdir(), `event-service-bench-${process.pid}.json`)
writeFileSync(file, JSON.stringify(responses))
const barePort = await freePort()
start(process.execPath, [join(here, 'bare-app.mjs')], {
  PORT: String(barePort),
  BARE_RESPONSES: file,
  LOG_LEVEL: LOG_LEVEL || 'info',
})
const bareUrl = `http://127.0.0.1:${barePort}`
await waitUntilUp(bareUrl)
for (const r of responses) {
  const body = await (await fetch(bareUrl + r.path)).text()
  if (body !== r.body) throw new Error(`bare app does not serve the same bytes for ${r.path}`)
}
const callsBefore = mock.calls()

const rows = []
let allMet = true
for (const route of ROUTES) {
  // A short warm-up of each app's JIT for this route.
  await cannon(serviceUrl + route.path, 1)
  await cannon(bareUrl + route.path, 1)
  // Interleaved slices, alternating which app goes first: on a shared machine the load changes
  // from second to second, and back-to-back runs would hand that drift to one app only.
  const service: Slice[] = []
  const bare: Slice[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const pair = [
      async () => service.push(await cannon(serviceUrl + route.path, SLICE_SECONDS)),
      async () => bare.push(await cannon(bareUrl + route.path, SLICE_SECONDS)),
    ]
    if (round % 2 === 1) pair.reverse()
    for (const run of pair) await run()
  }
  const s = summary(service)
  const b = summary(bare)
  const ratio = s.rps / b.rps
  const p99Ratio = s.p99 / b.p99
  const met = (route.target === undefined || ratio >= route.target) && p99Ratio <= 2 && s.bad === 0
  if (!met) allMet = false
  rows.push({
    route: route.name,
    'service req/s': Math.round(s.rps),
    'bare req/s': Math.round(b.rps),
    ratio: `${ratio.toFixed(2)} ×${route.target === undefined ? '' : ` (target ≥ ${route.target})`}`,
    'service p99 ms': s.p99,
    'bare p99 ms': b.p99,
    'p99 ratio': `${p99Ratio.toFixed(2)} × (target ≤ 2)`,
    'non-2xx/errors': s.bad + b.bad,
  })
}
console.table(rows)
const upstreamCalls = Object.entries(mock.calls()).reduce(
  (n, [route, count]) => n + count - (callsBefore[route as keyof typeof callsBefore] ?? 0),
  0,
)
console.log(`upstream calls while measuring: ${upstreamCalls}`)
console.log(`load after: ${load()}`)
console.log(allMet ? 'targets met in this run' : 'targets NOT met in this run')
for (const c of children) c.kill('SIGTERM')
await upstream.close()
process.exit(0)

/** Private: what one autocannon slice measured. */
interface Slice {
  requests: number
  seconds: number
  p99: number
  bad: number
}

/** Private: requests per second over all slices, the median slice p99, non-2xx + errors. */
function summary(slices: Slice[]) {
  const requests = slices.reduce((n, x) => n + x.requests, 0)
  const seconds = slices.reduce((n, x) => n + x.seconds, 0)
  const p99s = slices.map((x) => x.p99).sort((a, b) => a - b)
  return {
    rps: requests / seconds,
    p99: p99s[Math.floor(p99s.length / 2)] as number,
    bad: slices.reduce((n, x) => n + x.bad, 0),
  }
}

/** Private: one autocannon run: requests, duration, p99 latency, non-2xx + errors. */
async function cannon(url: string, duration: number) {
  const result = await autocannon({ url, connections: CONNECTIONS, duration })
  return {
    requests: result.requests.total,
    seconds: result.duration,
    p99: result.latency.p99,
    bad: result.non2xx + result.errors + result.timeouts,
  }
}

/** Private: a child process whose log output goes nowhere (the same for both apps). */
function start(command: string, args: string[], env: Record<string, string>) {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr?.on('data', (chunk) => process.stderr.write(chunk))
  children.push(child)
  return child
}

async function waitUntilUp(url: string) {
  for (let i = 0; i < 1_200; i++) {
    if (children.some((c) => c.exitCode !== null)) throw new Error('a benchmarked app exited')
    try {
      if ((await fetch(`${url}/healthz`)).status < 500) return
    } catch {}
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`${url} did not come up`)
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
}
