/**
 * Brownout benchmark: the mock upstream goes healthy → brownout (latency × 4, 30 % errors on every
 * route, a capacity below the offered load, so latency grows with load) → healthy, under a
 * closed-loop load whose callers have a deadline of 1,000 ms. Three clients take the same run at
 * the same time, each against its own upstream process, with the same breaker settings:
 *
 * - `today`: the client as it was before the retry budget, deadline propagation and adaptive
 *   limit (`retry.budget: false`, `deadlineHeader: false`), its default 15 s deadline; the caller
 *   simply gives up on it after 1 s;
 * - `today + deadline`: the same client, with the caller's deadline passed as `deadlineMs`;
 * - `new policies`: the defaults of this version (retry budget, `x-request-timeout-ms`) plus
 *   `adaptiveLimit: true`, with the caller's deadline passed as `deadlineMs`.
 *
 * Per phase it prints goodput (successful calls finished within the caller's deadline, per
 * second), successes per second, p50/p99 of successful calls, upstream requests per call that
 * reached the upstream (amplification), calls finished after their deadline, the upstream's work
 * for callers already gone, and the time goodput takes to come back after the upstream heals.
 * Writes `bench/brownout-results.json` and the chart `bench/brownout.svg`.
 *
 * Run: `pnpm --filter @userevents/upstream-client bench:brownout`. About a minute, 127.0.0.1
 * only. Phase lengths: BENCH_HEALTHY_S (8), BENCH_BROWNOUT_S (24), BENCH_RECOVERY_S (16).
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import os from 'node:os'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import {
  type BreakerOptions,
  createUpstreamClient,
  isUpstreamError,
  type UpstreamClient,
} from '../src/index.js'

const WORKERS = Number(process.env.BENCH_WORKERS ?? 40)
const LATENCY_MS = 50
const DEADLINE_MS = 1_000
const BROWNOUT = { latencyFactor: 4, errorRate: 0.3, capacity: 5 }
const PHASES = [
  { name: 'healthy', seconds: Number(process.env.BENCH_HEALTHY_S ?? 8) },
  { name: 'brownout', seconds: Number(process.env.BENCH_BROWNOUT_S ?? 24) },
  { name: 'recovered', seconds: Number(process.env.BENCH_RECOVERY_S ?? 16) },
] as const
/**
 * One breaker for every arm, sized for this traffic: it tolerates a brownout (30 % of the
 * upstream's 25 requests/s fail, plus attempts cut by the callers' 1 s deadline: at most one per
 * caller per second) and opens on an outage. With the default breaker (3 failures in 30 s) every
 * arm's circuit would stay open for the whole brownout, and the run would measure only the
 * breaker. BENCH_BREAKER_THRESHOLD changes the threshold.
 */
const BREAKER: BreakerOptions = {
  failureThreshold: Number(process.env.BENCH_BREAKER_THRESHOLD ?? 250),
  windowMs: 5_000,
  resetTimeoutMs: 5_000,
}
/** Goodput counts as recovered at this share of the healthy phase's. */
const RECOVERED_SHARE = 0.8
const BUCKET_MS = 250

interface Arm {
  name: string
  make: (baseUrl: string) => UpstreamClient
  /** Whether the caller passes its deadline to the client. */
  passDeadline: boolean
}

const ARMS: Arm[] = [
  {
    name: 'today',
    make: (baseUrl) =>
      createUpstreamClient({
        baseUrl,
        breaker: BREAKER,
        retry: { budget: false },
        deadlineHeader: false,
      }),
    passDeadline: false,
  },
  {
    name: 'today + deadline',
    make: (baseUrl) =>
      createUpstreamClient({
        baseUrl,
        breaker: BREAKER,
        retry: { budget: false },
        deadlineHeader: false,
      }),
    passDeadline: true,
  },
  {
    name: 'new policies',
    make: (baseUrl) => createUpstreamClient({ baseUrl, breaker: BREAKER, adaptiveLimit: true }),
    passDeadline: true,
  },
]

/** One finished call: start and duration in ms from the arm's start, outcome. */
interface CallRecord {
  start: number
  duration: number
  ok: boolean
  failFast: boolean
}

interface PhaseStats {
  phase: string
  calls: number
  goodput: number
  okPerSec: number
  p50: number | null
  p99: number | null
  amplification: number
  attempts: number
  failFast: number
  lateOk: number
  /** How far past its deadline the latest successful call finished, in ms. */
  maxLateMs: number
  lateAll: number
}

interface ArmResult {
  name: string
  phases: PhaseStats[]
  recoveryMs: number | null
  goodputTimeline: number[]
  limitTimeline: Array<[number, number]>
  circuitOpened: number
  /** The upstream's own totals over the whole run. */
  upstream: { requests: number; abandoned: number; expired: number }
  /** The client's attempts over the whole run (onRequest). */
  attempts: number
  /** The learned limit during each phase, time-weighted (empty without an adaptive limit). */
  limitByPhase: Array<{ phase: string; min: number; mean: number; max: number }>
  /** Event-loop delay of the arm's process, in ms: how late its timers and callbacks ran. */
  loopDelay: { p99: number; max: number }
}

async function startUpstream(): Promise<{ url: string; stop: () => void }> {
  const script = fileURLToPath(new URL('./brownout-upstream.ts', import.meta.url))
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', script, String(LATENCY_MS), JSON.stringify(BROWNOUT)],
    { stdio: ['pipe', 'pipe', 'inherit'], cwd: fileURLToPath(new URL('..', import.meta.url)) },
  )
  const url = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`upstream exited with ${code}`)))
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))
  })
  return { url, stop: () => child.stdin.end() }
}

async function admin(url: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return (await res.json()) as Record<string, unknown>
}

/** The upstream's counters since it started. */
async function upstreamTotals(url: string) {
  const stats = (await admin(url, '/__admin/calls')) as {
    calls: Record<string, number>
    capacity: { abandoned: number; expired: number }
  }
  return {
    requests: Object.values(stats.calls).reduce((a, b) => a + b, 0),
    abandoned: stats.capacity.abandoned,
    expired: stats.capacity.expired,
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function runArm(arm: Arm): Promise<ArmResult> {
  const upstream = await startUpstream()
  const client = arm.make(upstream.url)
  const limitTimeline: Array<[number, number]> = []
  let circuitOpened = 0
  const t0 = performance.now()
  client.onLimitChange((e) => limitTimeline.push([performance.now() - t0, e.limit]))
  // Attempts by the time they are dispatched: what the client sends the upstream per phase.
  const attemptTimes: number[] = []
  client.onRequest(() => attemptTimes.push(performance.now() - t0))
  client.onStateChange((e) => {
    if (e.to === 'open') circuitOpened++
  })
  const records: CallRecord[] = []
  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()
  const totalMs = PHASES.reduce((a, p) => a + p.seconds * 1000, 0)
  const end = t0 + totalMs
  let n = 0
  const worker = async () => {
    while (performance.now() < end) {
      const path = `/getUserById/${(n++ % 3) + 1}`
      const start = performance.now()
      try {
        await client.get(path, arm.passDeadline ? { deadlineMs: DEADLINE_MS } : undefined)
        records.push({
          start: start - t0,
          duration: performance.now() - start,
          ok: true,
          failFast: false,
        })
      } catch (error) {
        const code = isUpstreamError(error) ? error.code : 'OTHER'
        // An open circuit, or a concurrency limit (ConcurrencyLimitError shares the code).
        const failFast = code === 'UPSTREAM_CIRCUIT_OPEN'
        records.push({
          start: start - t0,
          duration: performance.now() - start,
          ok: false,
          failFast,
        })
        // A caller refused at once backs off as told (a service answers it 503 + Retry-After),
        // instead of spinning on refusals.
        if (failFast) {
          const hint = isUpstreamError(error) ? (error.retryAfterMs ?? 100) : 100
          await sleep(Math.min(Math.max(hint, 10), 1_000))
        }
      }
    }
  }
  const workers = Promise.all(Array.from({ length: WORKERS }, worker))
  let at = 0
  for (const phase of PHASES) {
    if (phase.name === 'brownout') await admin(upstream.url, '/__admin/mode', { mode: 'brownout' })
    if (phase.name === 'recovered') await admin(upstream.url, '/__admin/mode', { mode: 'healthy' })
    at += phase.seconds * 1000
    await sleep(Math.max(0, t0 + at - performance.now()))
  }
  await workers
  loop.disable()
  await client.close()
  const totals = await upstreamTotals(upstream.url)
  upstream.stop()

  const phases: PhaseStats[] = []
  let from = 0
  PHASES.forEach((phase) => {
    const to = from + phase.seconds * 1000
    const own = records.filter((r) => r.start >= from && r.start < to)
    const ok = own.filter((r) => r.ok)
    const okDurations = ok.map((r) => r.duration).sort((a, b) => a - b)
    const failFast = own.filter((r) => r.failFast).length
    const attempts = attemptTimes.filter((t) => t >= from && t < to).length
    phases.push({
      phase: phase.name,
      calls: own.length,
      goodput: round(ok.filter((r) => r.duration <= DEADLINE_MS).length / phase.seconds),
      okPerSec: round(ok.length / phase.seconds),
      p50: percentile(okDurations, 0.5),
      p99: percentile(okDurations, 0.99),
      amplification: round(attempts / Math.max(1, own.length - failFast), 2),
      attempts,
      failFast,
      lateOk: ok.filter((r) => r.duration > DEADLINE_MS).length,
      maxLateMs: Math.round(Math.max(0, ...ok.map((r) => r.duration - DEADLINE_MS))),
      lateAll: own.filter((r) => r.duration > DEADLINE_MS).length,
    })
    from = to
  })

  // Goodput over time, by the time each successful call finished.
  const buckets = new Array<number>(Math.ceil(totalMs / BUCKET_MS)).fill(0)
  for (const r of records) {
    if (!r.ok || r.duration > DEADLINE_MS) continue
    const b = Math.floor((r.start + r.duration) / BUCKET_MS)
    if (b < buckets.length) buckets[b] = (buckets[b] as number) + 1
  }
  const perSecond = buckets.map((c) => (c * 1000) / BUCKET_MS)
  // Reference: the healthy phase's goodput after its first 2 s (pool and limit warm-up).
  const healthyMs = PHASES[0].seconds * 1000
  const reference = mean(perSecond.slice(2000 / BUCKET_MS, healthyMs / BUCKET_MS))
  // Recovery: from the heal to the first 1 s window whose goodput is back to 80 % of it.
  const healAt = (PHASES[0].seconds + PHASES[1].seconds) * 1000
  const per = 1000 / BUCKET_MS
  let recoveryMs: number | null = null
  for (let b = healAt / BUCKET_MS; b + per <= perSecond.length; b++) {
    if (mean(perSecond.slice(b, b + per)) >= RECOVERED_SHARE * reference) {
      recoveryMs = b * BUCKET_MS - healAt
      break
    }
  }
  return {
    name: arm.name,
    phases,
    recoveryMs,
    goodputTimeline: perSecond,
    limitTimeline,
    circuitOpened,
    upstream: totals,
    attempts: attemptTimes.length,
    limitByPhase: limitStats(limitTimeline, totalMs),
    loopDelay: {
      p99: Math.round(loop.percentile(99) / 1e6),
      max: Math.round(loop.max / 1e6),
    },
  }
}

/** Runs arm `index` in a child process (this file with BENCH_ARM set) and reads its result. */
async function runArmProcess(index: number): Promise<ArmResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, BENCH_ARM: String(index) },
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`arm ${ARMS[index]?.name} exited with ${code}`)
  return JSON.parse(out) as ArmResult
}

async function main() {
  const loadBefore = os.loadavg()
  // The arms run at the same time, each in its own process against its own upstream process: the
  // machine is shared and its load drifts, so running them one after the other would compare
  // different machines, and in one process they would compete for one event loop. Side by side,
  // every arm sees the same load at the same moment.
  process.stderr.write(`running ${ARMS.map((a) => a.name).join(', ')} side by side...\n`)
  const results = await Promise.all(ARMS.map((_arm, i) => runArmProcess(i)))
  const loadAfter = os.loadavg()

  console.log(
    `\nNode ${process.version}, ${os.cpus().length} CPUs, load average ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after`,
  )
  console.log(
    `${WORKERS} closed-loop callers, deadline ${DEADLINE_MS} ms; upstream latency ${LATENCY_MS} ms; brownout: latency x${BROWNOUT.latencyFactor}, ${BROWNOUT.errorRate * 100} % errors, capacity ${BROWNOUT.capacity} (${(BROWNOUT.capacity * 1000) / (LATENCY_MS * BROWNOUT.latencyFactor)} requests/s); breaker ${JSON.stringify(BREAKER)}\n`,
  )
  console.log(
    '| client | phase | goodput/s | ok/s | p50 ok ms | p99 ok ms | attempts per call sent | calls | fail-fast | late ok (max ms late) | late (all) |',
  )
  console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    for (const p of r.phases) {
      console.log(
        `| ${r.name} | ${p.phase} | ${p.goodput} | ${p.okPerSec} | ${p.p50 ?? '-'} | ${p.p99 ?? '-'} | ${p.amplification} | ${p.calls} | ${p.failFast} | ${p.lateOk} (${p.maxLateMs}) | ${p.lateAll} |`,
      )
    }
  }
  console.log(
    '\n| client | time to recover after the heal | circuit opened | upstream requests (its count) / attempts sent | upstream work for callers gone | shed by propagated deadline | event-loop delay p99 / max ms |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    const recovery = r.recoveryMs === null ? 'not within the run' : `${r.recoveryMs} ms`
    console.log(
      `| ${r.name} | ${recovery} | ${r.circuitOpened} | ${r.upstream.requests} / ${r.attempts} | ${r.upstream.abandoned} | ${r.upstream.expired} | ${r.loopDelay.p99} / ${r.loopDelay.max} |`,
    )
  }

  const limits = (results[2] as ArmResult).limitByPhase
  console.log(
    `\nlearned limit of the new policies (min / time-weighted mean / max): ${limits
      .map((l) => `${l.phase} ${l.min} / ${l.mean} / ${l.max}`)
      .join('; ')}`,
  )

  const today = results[0] as ArmResult
  const fresh = results[2] as ArmResult
  const brown = (r: ArmResult) => r.phases[1] as PhaseStats
  const targets = {
    amplificationAtMost1_2: brown(fresh).amplification <= 1.2,
    noSuccessAfterDeadline: fresh.phases.every((p) => p.lateOk === 0),
    brownoutGoodputAtLeastToday: brown(fresh).goodput >= brown(today).goodput,
    p99Lower:
      (brown(fresh).p99 ?? Number.POSITIVE_INFINITY) <
      (brown(today).p99 ?? Number.POSITIVE_INFINITY),
    recoveryWithinOneResetTime:
      fresh.recoveryMs !== null && fresh.recoveryMs <= (BREAKER.resetTimeoutMs as number),
  }
  console.log('\ntargets (new policies):')
  for (const [name, met] of Object.entries(targets))
    console.log(`  ${met ? 'met   ' : 'MISSED'} ${name}`)

  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadBefore: fmtLoad(loadBefore),
    loadAfter: fmtLoad(loadAfter),
    workers: WORKERS,
    deadlineMs: DEADLINE_MS,
    latencyMs: LATENCY_MS,
    brownout: BROWNOUT,
    breaker: BREAKER,
    phases: PHASES,
    arms: results.map(({ goodputTimeline: _g, limitTimeline: _l, ...rest }) => rest),
    targets,
  }
  writeFileSync(
    new URL('./brownout-results.json', import.meta.url),
    `${JSON.stringify(out, null, 2)}\n`,
  )
  writeFileSync(new URL('./brownout.svg', import.meta.url), chart(results))
  console.log('\nwrote bench/brownout-results.json and bench/brownout.svg')
}

/** An SVG of goodput over time for every client, and of the new policies' learned limit. */
function chart(results: ArmResult[]): string {
  const width = 960
  const panel = 220
  const left = 60
  const right = 20
  const top = 40
  const gap = 60
  const totalS = PHASES.reduce((a, p) => a + p.seconds, 0)
  const x = (s: number) => left + (s / totalS) * (width - left - right)
  const maxGoodput = Math.max(1, ...results.flatMap((r) => r.goodputTimeline))
  const yTop = (v: number) => top + panel - (v / maxGoodput) * panel
  const limits = (results[2] as ArmResult).limitTimeline
  const maxLimit = Math.max(1, 50, ...limits.map(([, l]) => l))
  const top2 = top + panel + gap
  const yBottom = (v: number) => top2 + panel - (v / maxLimit) * panel
  const colors = ['#d62728', '#ff7f0e', '#1f77b4']
  const parts: string[] = []
  const b0 = PHASES[0].seconds
  const b1 = b0 + PHASES[1].seconds
  for (const y0 of [top, top2]) {
    parts.push(
      `<rect x="${x(b0)}" y="${y0}" width="${x(b1) - x(b0)}" height="${panel}" fill="#f2e6d9"/>`,
      `<rect x="${left}" y="${y0}" width="${width - left - right}" height="${panel}" fill="none" stroke="#888"/>`,
    )
  }
  for (let s = 0; s <= totalS; s += 4) {
    parts.push(
      `<text x="${x(s)}" y="${top2 + panel + 16}" font-size="11" text-anchor="middle">${s}s</text>`,
    )
  }
  parts.push(
    `<text x="${left}" y="${top - 12}" font-size="13">Goodput (calls/s that succeeded within the 1 s deadline), ${BUCKET_MS} ms buckets; shaded: brownout</text>`,
    `<text x="${left - 6}" y="${top + 4}" font-size="11" text-anchor="end">${Math.round(maxGoodput)}</text>`,
    `<text x="${left - 6}" y="${top + panel}" font-size="11" text-anchor="end">0</text>`,
    `<text x="${left}" y="${top2 - 12}" font-size="13">Learned concurrency limit of the new policies (attempts in flight)</text>`,
    `<text x="${left - 6}" y="${top2 + 4}" font-size="11" text-anchor="end">${maxLimit}</text>`,
    `<text x="${left - 6}" y="${top2 + panel}" font-size="11" text-anchor="end">0</text>`,
  )
  results.forEach((r, i) => {
    const points = r.goodputTimeline
      .map((v, b) => `${x(((b + 0.5) * BUCKET_MS) / 1000).toFixed(1)},${yTop(v).toFixed(1)}`)
      .join(' ')
    parts.push(
      `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${points}"/>`,
      `<text x="${width - right - 160}" y="${top + 16 + i * 15}" font-size="12" fill="${colors[i]}">${r.name}</text>`,
    )
  })
  let last = 20
  const steps: string[] = [`${x(0)},${yBottom(last)}`]
  for (const [t, l] of limits) {
    steps.push(
      `${x(t / 1000).toFixed(1)},${yBottom(last).toFixed(1)}`,
      `${x(t / 1000).toFixed(1)},${yBottom(l).toFixed(1)}`,
    )
    last = l
  }
  steps.push(`${x(totalS)},${yBottom(last).toFixed(1)}`)
  parts.push(
    `<polyline fill="none" stroke="${colors[2]}" stroke-width="1.5" points="${steps.join(' ')}"/>`,
  )
  const height = top2 + panel + 30
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<title>Brownout benchmark: goodput of each client and the learned concurrency limit over time</title>\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}

/** Time-weighted min, mean and max of the learned limit in each phase (null when it never moved). */
function limitStats(timeline: Array<[number, number]>, totalMs: number): ArmResult['limitByPhase'] {
  if (timeline.length === 0) return []
  let from = 0
  return PHASES.map((phase) => {
    const to = from + phase.seconds * 1000
    // The limit in force at each moment: the last change before it (20, the initial, before any).
    const at = (t: number) => {
      let limit = 20
      for (const [when, l] of timeline) {
        if (when > t) break
        limit = l
      }
      return limit
    }
    const values: number[] = []
    for (let t = from; t < Math.min(to, totalMs); t += 50) values.push(at(t))
    from = to
    return {
      phase: phase.name,
      min: Math.min(...values),
      mean: round(mean(values)),
      max: Math.max(...values),
    }
  })
}

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number)
}

function mean(values: number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits))
}

function fmtLoad(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(' / ')
}

const armIndex = process.env.BENCH_ARM
const run =
  armIndex === undefined
    ? main()
    : runArm(ARMS[Number(armIndex)] as Arm).then((result) => {
        process.stdout.write(JSON.stringify(result))
      })
run.catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
