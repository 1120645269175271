// Quota benchmark, one run, real parts: the mock upstream with its quota overlay at 100/s on a
// loopback port (in this process), a redis-server started here on a free port, and three
// replicas, each an upstream client in its own process (this file with BENCH_REPLICA set),
// hammering the upstream with 8 concurrent callers each for 10 s. Four arms, the same load:
//
//   off       no `rateLimit` (today: 429s are retried and counted by the breaker)
//   local     `rateLimit: { requestsPerSecond: 100 }` per replica, no store (each thinks it has it all)
//   local/3   `rateLimit: { requestsPerSecond: 100, replicas: 3 }` (the store-down fallback)
//   fleet     `rateLimit: { requestsPerSecond: 100, replicas: 3, store }` (one Redis bucket)
//
// The counts are the mock's own (requests it let through, requests it answered 429), so nothing
// here trusts the client. Goodput = admitted requests per second over the quota; the mock's
// bucket starts full (100 tokens), so a whole-run share can exceed 100 %; the steady share
// leaves out the first second. Prints the table and the machine load, writes
// bench/quota-results.json and bench/quota.svg.
//
//   npx -y pnpm@10 build && cd packages/redis && npx tsx bench/quota.bench.ts
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { createMockUpstream } from '@userevents/mock-server'
import { createRedisConnection, createRedisRateLimitStore } from '@userevents/redis'
import {
  createUpstreamClient,
  isUpstreamError,
  type UpstreamClientOptions,
} from '@userevents/upstream-client'
import { startRedisServer } from '../test/redis-server.js'

const QUOTA = 100
const REPLICAS = 3
const CONCURRENCY = 8
const DURATION_MS = 10_000
const ARMS = ['off', 'local', 'local/3', 'fleet'] as const
type ArmName = (typeof ARMS)[number]

interface ReplicaResult {
  ok: number
  failed: Record<string, number>
  responses: number
  responses429: number
}

interface ArmResult {
  name: ArmName
  admitted: number
  limited: number
  share429: number
  goodput: number
  steadyGoodput: number
  admittedPerSecond: number[]
  limitedPerSecond: number[]
  replicas: ReplicaResult[]
}

/** One replica: a client of its arm, CONCURRENCY closed loops until the end, then its counts. */
async function runReplica(): Promise<ReplicaResult> {
  const arm = process.env.ARM as ArmName
  const connection =
    arm === 'fleet'
      ? createRedisConnection({ url: process.env.REDIS_URL as string, commandTimeoutMs: 200 })
      : undefined
  if (connection !== undefined && (await connection.ready({ timeoutMs: 5_000 })) !== 'fleet') {
    throw new Error('replica not in fleet mode')
  }
  const rateLimit: UpstreamClientOptions['rateLimit'] =
    arm === 'off'
      ? false
      : arm === 'local'
        ? { requestsPerSecond: QUOTA }
        : arm === 'local/3'
          ? { requestsPerSecond: QUOTA, replicas: REPLICAS }
          : {
              requestsPerSecond: QUOTA,
              replicas: REPLICAS,
              store: createRedisRateLimitStore({
                connection: connection as NonNullable<typeof connection>,
                namespace: 'quota-bench',
              }),
            }
  const client = createUpstreamClient({
    baseUrl: process.env.UPSTREAM_URL as string,
    deadlineMs: 2_000,
    rateLimit,
  })
  const result: ReplicaResult = { ok: 0, failed: {}, responses: 0, responses429: 0 }
  client.onResponse((event) => {
    result.responses++
    if (event.status === 429) result.responses429++
  })
  // Ready: tell the parent, which sends the common start time once every replica is ready.
  const startAt = await new Promise<number>((resolve) => {
    process.once('message', (message) => resolve((message as { startAt: number }).startAt))
    process.send?.({ ready: true })
  })
  await sleep(startAt - Date.now())
  const endAt = startAt + DURATION_MS
  const loop = async () => {
    while (Date.now() < endAt) {
      try {
        await client.get('/getUserById/1')
        result.ok++
      } catch (error) {
        const code = isUpstreamError(error)
          ? `${error.code}${error.status === undefined ? '' : ` ${error.status}`}`
          : 'other'
        result.failed[code] = (result.failed[code] ?? 0) + 1
        // A caller that failed fast backs off a little instead of spinning on the CPU.
        await sleep(20)
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, loop))
  await client.close()
  await connection?.close()
  return result
}

/** Runs one arm: a fresh quota, three replica processes, the mock's counts per second. */
async function runArm(
  name: ArmName,
  mock: ReturnType<typeof createMockUpstream>,
  upstreamUrl: string,
  redisUrl: string,
): Promise<ArmResult> {
  const spawned = Array.from({ length: REPLICAS }, (_, i) =>
    replicaProcess(i, { ARM: name, UPSTREAM_URL: upstreamUrl, REDIS_URL: redisUrl }),
  )
  // Every replica has started, connected and built its client before the clock starts.
  await Promise.all(spawned.map((r) => r.ready))
  const startAt = Date.now() + 200
  for (const r of spawned) r.start(startAt)
  const children = spawned.map((r) => r.result)
  await sleep(startAt - Date.now())
  // The bucket refilled while the replicas started: reset the counts at the start line.
  mock.setQuota(`${QUOTA}/s`)
  const admittedPerSecond: number[] = []
  const limitedPerSecond: number[] = []
  let last = { admitted: 0, limited: 0 }
  for (let s = 1; s <= DURATION_MS / 1000; s++) {
    await sleep(startAt + s * 1000 - Date.now())
    const now = mock.quotaStats() ?? last
    admittedPerSecond.push(now.admitted - last.admitted)
    limitedPerSecond.push(now.limited - last.limited)
    last = { ...now }
  }
  const replicas = await Promise.all(children)
  const { admitted, limited } = last
  const steady = admittedPerSecond.slice(1)
  return {
    name,
    admitted,
    limited,
    share429: limited / Math.max(1, admitted + limited),
    goodput: admitted / (QUOTA * (DURATION_MS / 1000)),
    steadyGoodput: steady.reduce((a, b) => a + b, 0) / (QUOTA * steady.length),
    admittedPerSecond,
    limitedPerSecond,
    replicas,
  }
}

/** Runs replica `index` in a child process: ready when it says so, its result from stdout. */
function replicaProcess(index: number, env: Record<string, string>) {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url)], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env, BENCH_REPLICA: String(index) },
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  })
  let out = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString()
  })
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()))
  const result = (async () => {
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
    if (code !== 0) throw new Error(`replica ${index} (${env.ARM}) exited with ${code}`)
    return JSON.parse(out) as ReplicaResult
  })()
  return { ready, result, start: (startAt: number) => child.send({ startAt }) }
}

async function main() {
  const loadBefore = loadavg()
  const redis = await startRedisServer()
  const mock = createMockUpstream({ mode: 'healthy', delays: 0, recordRequests: 0 })
  const server = await mock.listen()
  const results: ArmResult[] = []
  try {
    for (const arm of ARMS) {
      results.push(await runArm(arm, mock, server.url, redis.url))
      console.error(`arm ${arm} done`)
    }
  } finally {
    await server.close()
    await redis.stop()
  }
  const loadAfter = loadavg()
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`
  console.log(
    `\n${REPLICAS} replicas x ${CONCURRENCY} callers, ${DURATION_MS / 1000} s per arm, quota ${QUOTA}/s (mock overlay)\n`,
  )
  console.log(
    '| pacing | upstream requests | answered 429 | 429 share | goodput (run) | goodput (steady, s 2-10) | calls failed at the client |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | --- |')
  for (const r of results) {
    const failed: Record<string, number> = {}
    for (const rep of r.replicas)
      for (const [code, n] of Object.entries(rep.failed)) failed[code] = (failed[code] ?? 0) + n
    const failedText = Object.entries(failed)
      .map(([code, n]) => `${code}: ${n}`)
      .join(', ')
    console.log(
      `| ${r.name} | ${r.admitted + r.limited} | ${r.limited} | ${pct(r.share429)} | ${pct(r.goodput)} | ${pct(r.steadyGoodput)} | ${failedText || 'none'} |`,
    )
  }
  const load = `load average ${loadBefore.map((l) => l.toFixed(2)).join(' / ')} before, ${loadAfter.map((l) => l.toFixed(2)).join(' / ')} after`
  console.log(`\n${load}`)
  writeFileSync(
    new URL('./quota-results.json', import.meta.url),
    `${JSON.stringify({ quota: QUOTA, replicas: REPLICAS, concurrency: CONCURRENCY, durationMs: DURATION_MS, loadBefore, loadAfter, results }, null, 2)}\n`,
  )
  writeFileSync(new URL('./quota.svg', import.meta.url), chart(results))
  console.log('wrote bench/quota-results.json and bench/quota.svg')
}

/** Two panels over the run: requests admitted per second, and requests answered 429 per second. */
function chart(results: ArmResult[]): string {
  const width = 960
  const panel = 200
  const left = 60
  const right = 150
  const top = 40
  const gap = 60
  const seconds = DURATION_MS / 1000
  const x = (s: number) => left + (s / seconds) * (width - left - right)
  const colors = ['#d62728', '#ff7f0e', '#2ca02c', '#1f77b4']
  const maxAdmitted = Math.max(QUOTA * 1.5, ...results.flatMap((r) => r.admittedPerSecond))
  const maxLimited = Math.max(1, ...results.flatMap((r) => r.limitedPerSecond))
  const top2 = top + panel + gap
  const y1 = (v: number) => top + panel - (v / maxAdmitted) * panel
  const y2 = (v: number) => top2 + panel - (v / maxLimited) * panel
  const parts: string[] = []
  for (const y0 of [top, top2]) {
    parts.push(
      `<rect x="${left}" y="${y0}" width="${width - left - right}" height="${panel}" fill="none" stroke="#888"/>`,
    )
  }
  parts.push(
    `<line x1="${left}" x2="${width - right}" y1="${y1(QUOTA)}" y2="${y1(QUOTA)}" stroke="#555" stroke-dasharray="4 3"/>`,
    `<text x="${width - right + 4}" y="${y1(QUOTA) + 4}" font-size="11">quota ${QUOTA}/s</text>`,
    `<text x="${left}" y="${top - 12}" font-size="13">Goodput: requests the upstream let through, per second (3 replicas, quota ${QUOTA}/s)</text>`,
    `<text x="${left - 6}" y="${top + 4}" font-size="11" text-anchor="end">${Math.round(maxAdmitted)}</text>`,
    `<text x="${left - 6}" y="${top + panel}" font-size="11" text-anchor="end">0</text>`,
    `<text x="${left}" y="${top2 - 12}" font-size="13">Requests the upstream answered 429, per second</text>`,
    `<text x="${left - 6}" y="${top2 + 4}" font-size="11" text-anchor="end">${Math.round(maxLimited)}</text>`,
    `<text x="${left - 6}" y="${top2 + panel}" font-size="11" text-anchor="end">0</text>`,
  )
  for (let s = 0; s <= seconds; s += 2) {
    parts.push(
      `<text x="${x(s)}" y="${top2 + panel + 16}" font-size="11" text-anchor="middle">${s}s</text>`,
    )
  }
  results.forEach((r, i) => {
    const line = (values: number[], y: (v: number) => number) =>
      values.map((v, s) => `${x(s + 0.5).toFixed(1)},${y(v).toFixed(1)}`).join(' ')
    parts.push(
      `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.8" points="${line(r.admittedPerSecond, y1)}"/>`,
      `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.8" points="${line(r.limitedPerSecond, y2)}"/>`,
      `<text x="${width - right + 4}" y="${top + 40 + i * 16}" font-size="12" fill="${colors[i]}">${r.name}: ${(r.share429 * 100).toFixed(1)} % 429</text>`,
    )
  })
  const height = top2 + panel + 30
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<title>Quota benchmark: goodput and 429s per second of three replicas against a ${QUOTA}/s quota</title>\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

const run =
  process.env.BENCH_REPLICA === undefined
    ? main()
    : runReplica().then((result) => {
        process.stdout.write(JSON.stringify(result))
        process.disconnect?.()
      })
run.catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
