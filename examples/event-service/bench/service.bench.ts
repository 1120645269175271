/**
 * `pnpm --filter @userevents/example-event-service bench`: four apps as child processes, loaded
 * by autocannon from this process with the same settings, in interleaved slices, route by route,
 * in one run:
 *
 * - **bare**: a bare Fastify 5 app serving the same bytes (`bench/bare-app.mjs`);
 * - **bare + OTel**: the same bare app with the service's own OpenTelemetry setup (the SDK, the
 *   server spans, trace ids in log lines: `dist/telemetry.js`): what the SDK costs by itself;
 * - **service, SDK off**: the built service (`node dist/main.js`) with `OTEL_SDK_DISABLED=true`;
 * - **service as shipped**: `node dist/main.js` as `pnpm start` runs it: SDK on, no exporter,
 *   the default sampler.
 *
 * All at the service's default log level. Prints requests per second (median of the slices), the
 * median slice p99 and the ratios (median of the per-round ratios, each round measuring the four
 * apps back to back, in a rotating order) for a warm page, a cached `/getUsers` and `/healthz`,
 * against the targets of issue 22.
 *
 * The mock upstream runs here (healthy, no delays); caches are set longer than the run and each
 * URL is requested once before measuring, so the upstream is out of the measured path: what is
 * measured is the per-request cost of the service's HTTP layer (and of its telemetry).
 *
 * Knobs: BENCH_SECONDS (default 12, per route and app, in BENCH_ROUNDS interleaved slices, default
 * 6), BENCH_CONNECTIONS (default 50), LOG_LEVEL (default: the service's default, `info`).
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
const ROUNDS = Math.max(6, Number(process.env.BENCH_ROUNDS ?? 6))
const SLICE_SECONDS = Math.max(1, Math.round(SECONDS / ROUNDS))
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
const LOG_LEVEL = process.env.LOG_LEVEL ?? ''
const here = fileURLToPath(new URL('.', import.meta.url))
const main = join(here, '..', 'dist', 'main.js')

/** Targets per route: the shipped service and the SDK-off service against bare Fastify. */
const ROUTES = [
  { name: 'warm page', path: '/getEventsByUserId/1', on: 0.5, onVsOtel: 0.8, off: 0.7 },
  {
    name: '/getUsers (cached)',
    path: '/getUsers',
    on: undefined,
    onVsOtel: undefined,
    off: undefined,
  },
  { name: '/healthz', path: '/healthz', on: 0.8, onVsOtel: undefined, off: 0.9 },
] as const

type AppName = 'bare' | 'bareOtel' | 'off' | 'on'
const APPS: readonly AppName[] = ['bare', 'bareOtel', 'off', 'on']
const LABEL: Record<AppName, string> = {
  bare: 'bare Fastify',
  bareOtel: 'bare + OTel',
  off: 'service, SDK off',
  on: 'service as shipped',
}

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

const serviceEnv = {
  UPSTREAM_BASE: upstream.url,
  LOG_LEVEL,
  // Longer than the run: a page is assembled from cache, /getUsers is answered from cache.
  CACHE_TTL_MS: '3600000',
  LIST_CACHE_TTL_MS: '3600000',
}
const url: Partial<Record<AppName, string>> = {}
for (const [app, sdkOff] of [
  ['on', undefined],
  ['off', 'true'],
] as const) {
  const port = await freePort()
  const env: Record<string, string | undefined> = { ...serviceEnv, PORT: String(port) }
  // As shipped means no OTEL_SDK_DISABLED at all, whatever this shell has.
  env.OTEL_SDK_DISABLED = sdkOff
  start(process.execPath, [main], env)
  url[app] = `http://127.0.0.1:${port}`
  await waitUntilUp(url[app] as string)
}

// Warm each URL once, and keep the exact answer for the bare apps.
const responses = []
for (const route of ROUTES) {
  const res = await fetch(url.on + route.path)
  if (res.status !== 200) throw new Error(`${route.path} answered ${res.status}`)
  await (await fetch(url.off + route.path)).text()
  responses.push({
    path: route.path,
    contentType: res.headers.get('content-type'),
    body: await res.text(),
  })
}
const file = join(tmpdir(), `event-service-bench-${process.pid}.json`)
writeFileSync(file, JSON.stringify(responses))
for (const [app, otel] of [
  ['bare', '0'],
  ['bareOtel', '1'],
] as const) {
  const port = await freePort()
  start(process.execPath, [join(here, 'bare-app.mjs')], {
    PORT: String(port),
    BARE_RESPONSES: file,
    BARE_OTEL: otel,
    LOG_LEVEL: LOG_LEVEL || 'info',
    OTEL_SDK_DISABLED: undefined,
  })
  url[app] = `http://127.0.0.1:${port}`
  await waitUntilUp(url[app] as string)
  for (const r of responses) {
    const body = await (await fetch(url[app] + r.path)).text()
    if (body !== r.body) throw new Error(`${app} does not serve the same bytes for ${r.path}`)
  }
}
const callsBefore = mock.calls()

const rows = []
const verdicts: string[] = []
for (const route of ROUTES) {
  // A short warm-up of each app's JIT for this route.
  for (const app of APPS) await cannon(url[app] + route.path, 1)
  // Interleaved slices in a rotating order: on a shared machine the load changes from second to
  // second, and back-to-back runs would hand that drift to one app only.
  const slices: Record<AppName, Slice[]> = { bare: [], bareOtel: [], off: [], on: [] }
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < APPS.length; i++) {
      const app = APPS[(round + i) % APPS.length] as AppName
      slices[app].push(await cannon(url[app] + route.path, SLICE_SECONDS))
    }
  }
  const rps = (app: AppName) => median(slices[app].map((x) => x.rps))
  const p99 = (app: AppName) => median(slices[app].map((x) => x.p99))
  /** Median over the rounds of a / b measured in the same round. */
  const ratio = (a: AppName, b: AppName) =>
    median(slices[a].map((x, i) => x.rps / (slices[b][i] as Slice).rps))
  const bad = APPS.reduce((n, app) => n + slices[app].reduce((m, x) => m + x.bad, 0), 0)
  const on = ratio('on', 'bare')
  const onVsOtel = ratio('on', 'bareOtel')
  const off = ratio('off', 'bare')
  const sdk = ratio('bareOtel', 'bare')
  const p99Ratio = p99('on') / p99('bare')
  const check = (what: string, value: number, target: number | undefined, atMost = false) => {
    if (target === undefined) return `${value.toFixed(2)} ×`
    const met = atMost ? value <= target : value >= target
    verdicts.push(
      `${route.name}: ${what} ${value.toFixed(2)} × (target ${atMost ? '≤' : '≥'} ${target}) ${met ? 'met' : 'NOT met'}`,
    )
    return `${value.toFixed(2)} × ${met ? '✓' : '✗'}`
  }
  rows.push({
    route: route.name,
    ...Object.fromEntries(APPS.map((app) => [`${LABEL[app]} req/s`, Math.round(rps(app))])),
    'shipped / bare': check('shipped / bare', on, route.on),
    'shipped / bare+OTel': check('shipped / bare + OTel', onVsOtel, route.onVsOtel),
    'SDK off / bare': check('SDK off / bare', off, route.off),
    'bare+OTel / bare': `${sdk.toFixed(2)} ×`,
    'p99 ms (bare, +OTel, off, shipped)': APPS.map((app) => p99(app)).join(', '),
    'p99 shipped / bare': check('p99 shipped / bare', p99Ratio, 2, true),
    'non-2xx/errors': bad,
  })
  if (bad > 0) verdicts.push(`${route.name}: ${bad} non-2xx answers or errors`)
}
console.table(rows)
const upstreamCalls = Object.entries(mock.calls()).reduce(
  (n, [route, count]) => n + count - (callsBefore[route as keyof typeof callsBefore] ?? 0),
  0,
)
console.log(`upstream calls while measuring: ${upstreamCalls}`)
for (const v of verdicts) console.log(v)
console.log(`load after: ${load()}`)
console.log(
  verdicts.every((v) => v.endsWith(' met') && !v.endsWith('NOT met'))
    ? 'targets met in this run'
    : 'targets NOT met in this run',
)
for (const c of children) c.kill('SIGTERM')
await upstream.close()
process.exit(0)

/** Private: what one autocannon slice measured. */
interface Slice {
  rps: number
  p99: number
  bad: number
}

/** Private: the median (the mean of the middle two for an even count). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** Private: one autocannon run: requests per second, p99 latency, non-2xx + errors. */
async function cannon(url: string, duration: number): Promise<Slice> {
  const result = await autocannon({ url, connections: CONNECTIONS, duration })
  return {
    rps: result.requests.total / result.duration,
    p99: result.latency.p99,
    bad: result.non2xx + result.errors + result.timeouts,
  }
}

/** Private: a child process whose log output goes nowhere (the same for both apps). */
function start(command: string, args: string[], env: Record<string, string | undefined>) {
  const merged: Record<string, string | undefined> = { ...process.env, ...env }
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]
  const child = spawn(command, args, {
    env: merged,
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
