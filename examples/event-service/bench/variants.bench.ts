/**
 * `pnpm --filter @userevents/example-event-service bench:variants [path]`: what each part of the
 * shipped OpenTelemetry setup costs, in the service and in the bare Fastify app, on one route
 * (default the warm page). Eight processes: the built service and the bare app, each with no SDK,
 * with the SDK and an OpenTelemetry context entered per request (no span), with the SERVER span
 * too, and as shipped (trace ids in log lines too); see variant.mjs. Each is loaded by
 * autocannon (50 connections) in interleaved slices of 2 s (`BENCH_ROUNDS`, default 10), and
 * the server's user and system CPU per request are read from `/proc/<pid>/stat` around each
 * slice: CPU per request moves less with a noisy neighbour than requests per second do. Prints
 * medians and what each part adds. Linux only (`/proc`). `BENCH_VARIANTS=off,enabled,context,
 * spanonly,span,shipped` picks others (see variant.mjs; each row adds to the row above it), and
 * `BENCH_APPS=service` leaves the bare app out.
 */
import { type ChildProcess, execSync, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMockUpstream } from '@userevents/mock-server'
import autocannon from 'autocannon'

const path = process.argv[2] ?? '/getEventsByUserId/1'
const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 10))
const SLICE_SECONDS = 2
const here = fileURLToPath(new URL('.', import.meta.url))
const VARIANTS = (process.env.BENCH_VARIANTS ?? 'off,context,span,shipped').split(',')
const KINDS = process.env.BENCH_APPS === 'service' ? ['service'] : ['service', 'bare']
const ADDED: Record<string, string> = {
  off: 'nothing (SDK off)',
  enabled: 'SDK on, its context manager switched on once',
  context: 'SDK on, a context entered per request, no span',
  spanonly: 'SDK on, a SERVER span per request, not entered',
  span: 'SDK on, the SERVER span entered as the context',
  shipped: 'as shipped (+ trace ids in log lines)',
}
for (const v of VARIANTS) if (!(v in ADDED)) throw new TypeError(`unknown variant ${v}`)

const children: ChildProcess[] = []
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})
const load = () => execSync('uptime').toString().trim()
console.log(
  `variants of ${path}: ${ROUNDS} interleaved slices of ${SLICE_SECONDS} s, 50 connections`,
)
console.log(`node ${process.version}; load before: ${load()}`)

const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })
const env = {
  UPSTREAM_BASE: upstream.url,
  CACHE_TTL_MS: '3600000',
  LIST_CACHE_TTL_MS: '3600000',
  OTEL_SDK_DISABLED: undefined,
}
const apps: { name: string; url: string; pid: number }[] = []
for (const variant of VARIANTS) {
  apps.push(await startApp(`service ${variant}`, join(here, 'variant-service.mjs'), { variant }))
}
const res = await fetch(apps[0]?.url + path)
if (res.status !== 200) throw new Error(`${path} answered ${res.status}`)
const file = join(tmpdir(), `event-service-variants-${process.pid}.json`)
const body = await res.text()
writeFileSync(file, JSON.stringify([{ path, contentType: res.headers.get('content-type'), body }]))
for (const variant of KINDS.includes('bare') ? VARIANTS : []) {
  apps.push(
    await startApp(`bare ${variant}`, join(here, 'bare-app.mjs'), {
      variant,
      BARE_RESPONSES: file,
      BARE_OTEL: variant === 'off' ? '0' : '1',
    }),
  )
}
for (const app of apps) await autocannon({ url: app.url + path, connections: 50, duration: 1 })

const slices = new Map(
  apps.map((a) => [a.name, [] as { rps: number; user: number; sys: number }[]]),
)
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < apps.length; i++) {
    const app = apps[(round + i) % apps.length] as (typeof apps)[number]
    const before = cpu(app.pid)
    const result = await autocannon({
      url: app.url + path,
      connections: 50,
      duration: SLICE_SECONDS,
    })
    const after = cpu(app.pid)
    const n = result.requests.total
    slices.get(app.name)?.push({
      rps: n / result.duration,
      user: (after.user - before.user) / n,
      sys: (after.sys - before.sys) / n,
    })
  }
}
const rows = []
for (const kind of KINDS) {
  let previous: number | undefined
  for (const variant of VARIANTS) {
    const s = slices.get(`${kind} ${variant}`) ?? []
    const user = median(s.map((x) => x.user))
    rows.push({
      app: kind,
      variant: ADDED[variant],
      'req/s': Math.round(median(s.map((x) => x.rps))),
      'user µs/req': user.toFixed(1),
      'sys µs/req': median(s.map((x) => x.sys)).toFixed(1),
      'vs row above':
        previous === undefined
          ? ''
          : `${user >= previous ? '+' : ''}${(user - previous).toFixed(1)}`,
    })
    previous = user
  }
}
console.table(rows)
console.log(`load after: ${load()}`)
await upstream.close()
process.exit(0)

/** Private: starts one app on a free port and waits until it answers. */
async function startApp(
  name: string,
  script: string,
  { variant, ...extra }: { variant: string } & Record<string, string>,
) {
  const port = await freePort()
  const merged: Record<string, string | undefined> = {
    ...process.env,
    ...env,
    ...extra,
    PORT: String(port),
    BENCH_VARIANT: variant,
  }
  if (variant === 'off' && script.endsWith('variant-service.mjs')) merged.OTEL_SDK_DISABLED = 'true'
  for (const [k, v] of Object.entries(merged)) if (v === undefined) delete merged[k]
  const child = spawn(process.execPath, [script], {
    env: merged,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  child.stderr?.on('data', (chunk) => process.stderr.write(chunk))
  children.push(child)
  const url = `http://127.0.0.1:${port}`
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${name} exited`)
    try {
      if ((await fetch(url + path)).status === 200) break
    } catch {}
    if (i > 1_200) throw new Error(`${name} did not come up`)
    await new Promise((r) => setTimeout(r, 50))
  }
  return { name, url, pid: child.pid as number }
}

/** Private: a process's user and system CPU so far, in µs (`/proc/<pid>/stat`, 100 Hz ticks). */
function cpu(pid: number): { user: number; sys: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
  const tick = 1e6 / 100
  return { user: Number(fields[11]) * tick, sys: Number(fields[12]) * tick }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
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
