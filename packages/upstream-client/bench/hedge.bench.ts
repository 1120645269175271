/**
 * Hedging benchmark: what `hedge` does to the slow tail, and what it costs the upstream.
 *
 * 1. **Pages against the mock's tail overlay.** The mock (`healthy`, no latency of its own, tail
 *    overlay `rate` 2 %, 300 ms) serves `GET /getEventById/{id}` on 127.0.0.1; a *page* is 50
 *    concurrent reads, and its latency is the slowest read's. With 2 % of reads slow, about
 *    1 - 0.98^50 = 64 % of pages contain one. Arms: hedging off, `delayMs: 20` with
 *    `maxExtraLoad: 0.05`, and `delayMs: 'auto'` (p95) with `maxExtraLoad: 0.1`.
 * 2. **Every tenth answer takes 200 ms** (the Done-when): a node:http server on
 *    127.0.0.1 port 0 answers every tenth request it receives after 200 ms, the others at once;
 *    one caller, then 10 closed-loop callers; hedging off vs `{ delayMs: 20, maxExtraLoad: 0.2 }`,
 *    each arm with its own server so each sees exactly every tenth request slow.
 *
 * The arms take turns (a page or a batch of calls each, in rotation) in one process, so a drift
 * of the shared machine's load reaches every arm alike. Extra load is upstream requests (as
 * counted by the server) per call, minus one. Writes `bench/hedge-results.json` and the chart
 * `bench/hedge.svg`.
 *
 * Run: `pnpm --filter @userevents/upstream-client bench:hedge` (about two minutes on a loaded 2-CPU machine). Sizes:
 * BENCH_PAGES (150 per arm), BENCH_CALLS (1500 per arm).
 */
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import { createMockUpstream, generateDataSet } from '@userevents/mock-server'
import { createUpstreamClient, type HedgeOptions, type UpstreamClient } from '../src/index.js'

const PAGES = Number(process.env.BENCH_PAGES ?? 150)
const PAGE_SIZE = 50
const CALLS = Number(process.env.BENCH_CALLS ?? 1500)
const TAIL = { rate: 0.02, delayMs: 300 }
const TENTH_MS = 200

interface Arm {
  name: string
  hedge: HedgeOptions | false
}

const PAGE_ARMS: Arm[] = [
  { name: 'off', hedge: false },
  { name: 'delayMs 20, maxExtraLoad 0.05', hedge: { delayMs: 20, maxExtraLoad: 0.05 } },
  { name: "'auto' (p95), maxExtraLoad 0.1", hedge: { delayMs: 'auto', maxExtraLoad: 0.1 } },
]
const TENTH_ARMS: Arm[] = [
  { name: 'off', hedge: false },
  { name: 'delayMs 20, maxExtraLoad 0.2', hedge: { delayMs: 20, maxExtraLoad: 0.2 } },
]

interface ArmResult {
  name: string
  calls: number
  upstreamRequests: number
  /** Upstream requests per call, minus one, in per cent. */
  extraLoadPct: number
  hedgesSent: number
  hedgesWon: number
  p50: number
  p90: number
  p99: number
  max: number
  /** The latencies, sorted (not written to the JSON). */
  sorted: number[]
}

function makeClient(
  baseUrl: string,
  arm: Arm,
): { client: UpstreamClient; sent: () => number; won: () => number } {
  const client = createUpstreamClient({
    baseUrl,
    telemetry: false,
    retry: false,
    connections: 100,
    ...(arm.hedge === false ? {} : { hedge: arm.hedge }),
  })
  let sent = 0
  let won = 0
  client.onHedge((e) => {
    if (e.type === 'sent') sent++
    if (e.type === 'won') won++
  })
  return { client, sent: () => sent, won: () => won }
}

/** Scenario 1: pages of 50 concurrent reads against the mock's tail overlay (a mock per arm). */
async function pages(): Promise<ArmResult[]> {
  const arms = await Promise.all(
    PAGE_ARMS.map(async (arm) => {
      // The same seed for every arm: each mock delays the same request numbers.
      const mock = createMockUpstream({
        mode: 'healthy',
        delays: 0,
        seed: 24,
        tail: TAIL,
        recordRequests: 0,
        data: generateDataSet({ users: 10, eventsPerUser: 50 }),
      })
      const server = await mock.listen()
      return { arm, mock, server, ...makeClient(server.url, arm), times: [] as number[] }
    }),
  )
  // Warm-up: connections opened and 'auto' past its minimum samples, outside the measurement.
  for (const a of arms) {
    for (let i = 0; i < 3; i++) await page(a.client, i)
  }
  const warm = arms.map((a) => ({
    sent: a.sent(),
    won: a.won(),
    calls: a.mock.calls('getEventById'),
  }))
  for (let i = 0; i < PAGES; i++) {
    for (const a of arms) {
      const started = performance.now()
      await page(a.client, i)
      a.times.push(performance.now() - started)
    }
  }
  const results = arms.map((a, i) => {
    const w = warm[i] as { sent: number; won: number; calls: number }
    return summarize(
      a.arm.name,
      a.times,
      PAGES * PAGE_SIZE,
      a.mock.calls('getEventById') - w.calls,
      a.sent() - w.sent,
      a.won() - w.won,
    )
  })
  for (const a of arms) {
    await a.client.close()
    await a.server.close()
  }
  return results
}

/** One page: 50 concurrent reads of distinct events. */
async function page(client: UpstreamClient, n: number): Promise<void> {
  await Promise.all(
    Array.from({ length: PAGE_SIZE }, (_, i) =>
      client.get(`/getEventById/${((n * PAGE_SIZE + i) % 500) + 1}`, { operation: 'getEventById' }),
    ),
  )
}

/** Scenario 2: every tenth answer takes 200 ms; `callers` closed-loop callers. */
async function everyTenth(callers: number): Promise<ArmResult[]> {
  const arms = await Promise.all(
    TENTH_ARMS.map(async (arm) => {
      const server = await tenthServer()
      return { arm, server, ...makeClient(server.origin, arm), times: [] as number[] }
    }),
  )
  const batch = 100
  for (let done = 0; done < CALLS; done += batch) {
    for (const a of arms) {
      let left = batch
      await Promise.all(
        Array.from({ length: callers }, async () => {
          while (left > 0) {
            left--
            const started = performance.now()
            await a.client.get('/item', { operation: 'item' })
            a.times.push(performance.now() - started)
          }
        }),
      )
    }
  }
  const results = arms.map((a) =>
    summarize(a.arm.name, a.times, a.times.length, a.server.requests(), a.sent(), a.won()),
  )
  for (const a of arms) {
    await a.client.close()
    await a.server.close()
  }
  return results
}

/** A node:http server on 127.0.0.1 port 0 whose every tenth request is answered after 200 ms. */
async function tenthServer() {
  let requests = 0
  const server = http.createServer((_req, res) => {
    const n = ++requests
    const answer = () => {
      if (res.destroyed) return
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '8' })
      res.end('{"ok":1}')
    }
    if (n % 10 === 0) setTimeout(answer, TENTH_MS)
    else answer()
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: () => requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

function summarize(
  name: string,
  times: number[],
  calls: number,
  upstreamRequests: number,
  hedgesSent: number,
  hedgesWon: number,
): ArmResult {
  const sorted = [...times].sort((a, b) => a - b)
  return {
    name,
    calls,
    upstreamRequests,
    extraLoadPct: round(((upstreamRequests - calls) / calls) * 100, 2),
    hedgesSent,
    hedgesWon,
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: round(sorted[sorted.length - 1] ?? 0),
    sorted,
  }
}

async function main() {
  const loadBefore = os.loadavg()
  process.stderr.write(`pages: ${PAGES} per arm, ${PAGE_SIZE} reads each...\n`)
  const pageResults = await pages()
  process.stderr.write(`every tenth 200 ms: ${CALLS} calls per arm, 1 then 10 callers...\n`)
  const tenthResults = await everyTenth(1)
  const tenthConcurrent = await everyTenth(10)
  const loadAfter = os.loadavg()
  console.log(
    `\nNode ${process.version}, ${os.cpus().length} CPUs, load average ${fmtLoad(loadBefore)} before, ${fmtLoad(loadAfter)} after`,
  )
  table(
    `Pages of ${PAGE_SIZE} concurrent reads, mock tail overlay ${TAIL.rate * 100} % × ${TAIL.delayMs} ms (page latency, ms)`,
    pageResults,
  )
  table(`Every tenth answer ${TENTH_MS} ms, one caller (call latency, ms)`, tenthResults)
  table(
    `Every tenth answer ${TENTH_MS} ms, 10 closed-loop callers (call latency, ms)`,
    tenthConcurrent,
  )
  const [off, on] = tenthResults as [ArmResult, ArmResult]
  const ratio = round(on.p99 / off.p99, 3)
  const [off10, on10] = tenthConcurrent as [ArmResult, ArmResult]
  const ratio10 = round(on10.p99 / off10.p99, 3)
  console.log(`\nevery tenth 200 ms, 10 callers: p99 with hedging / without = ${ratio10}`)
  const targets = {
    p99RatioAtMost0_3: ratio <= 0.3,
    extraLoadAtMost20Pct: on.extraLoadPct <= 20,
  }
  console.log(`every tenth 200 ms, one caller: p99 with hedging / without = ${ratio}`)
  for (const [k, met] of Object.entries(targets)) console.log(`  ${met ? 'met   ' : 'MISSED'} ${k}`)
  const strip = (r: ArmResult) => {
    const { sorted: _s, ...rest } = r
    return rest
  }
  const out = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    loadBefore: fmtLoad(loadBefore),
    loadAfter: fmtLoad(loadAfter),
    pages: { count: PAGES, size: PAGE_SIZE, tail: TAIL, arms: pageResults.map(strip) },
    everyTenth: {
      calls: CALLS,
      callers: 1,
      slowMs: TENTH_MS,
      arms: tenthResults.map(strip),
      p99Ratio: ratio,
    },
    everyTenthConcurrent: {
      calls: CALLS,
      callers: 10,
      slowMs: TENTH_MS,
      arms: tenthConcurrent.map(strip),
      p99Ratio: ratio10,
    },
    targets,
  }
  writeFileSync(
    new URL('./hedge-results.json', import.meta.url),
    `${JSON.stringify(out, null, 2)}\n`,
  )
  writeFileSync(
    new URL('./hedge.svg', import.meta.url),
    chart(pageResults, tenthResults, tenthConcurrent),
  )
  console.log('\nwrote bench/hedge-results.json and bench/hedge.svg')
}

function table(title: string, results: ArmResult[]): void {
  console.log(`\n${title}\n`)
  console.log(
    '| hedging | p50 | p90 | p99 | max | upstream requests / calls | extra load | hedges sent / won |',
  )
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.p50} | ${r.p90} | ${r.p99} | ${r.max} | ${r.upstreamRequests} / ${r.calls} | ${r.extraLoadPct} % | ${r.hedgesSent} / ${r.hedgesWon} |`,
    )
  }
}

/** An SVG: per scenario, the latency distribution (percentile curves) of each arm, log scale. */
function chart(
  pageResults: ArmResult[],
  tenthResults: ArmResult[],
  tenthConcurrent: ArmResult[],
): string {
  const width = 1400
  const panelW = 380
  const panelH = 300
  const top = 50
  const lefts = [60, 520, 980]
  const colors = ['#d62728', '#1f77b4', '#2ca02c']
  const maxMs = Math.max(
    ...[...pageResults, ...tenthResults, ...tenthConcurrent].map((r) => r.max),
    1,
  )
  const y = (ms: number) =>
    top + panelH - ((Math.log10(Math.max(ms, 0.1)) + 1) / (Math.log10(maxMs) + 1)) * panelH
  const parts: string[] = []
  const panels: Array<[string, ArmResult[]]> = [
    [`Page of ${PAGE_SIZE} reads, tail ${TAIL.rate * 100} % × ${TAIL.delayMs} ms`, pageResults],
    [`Every tenth answer ${TENTH_MS} ms, one caller`, tenthResults],
    [`Every tenth answer ${TENTH_MS} ms, 10 callers`, tenthConcurrent],
  ]
  panels.forEach(([title, results], p) => {
    const left = lefts[p] as number
    // A tail scale: the distance from p0 to p90, p90 to p99 and p99 to the maximum are alike
    // (-log10 of the share above), so the tail hedging acts on is not squeezed into the edge.
    const n0 = Math.max(2, results[0]?.sorted.length ?? 2)
    const x = (q: number) =>
      left + Math.min(1, Math.log10(1 / Math.max(1 - q, 1 / n0)) / Math.log10(n0)) * panelW
    parts.push(
      `<rect x="${left}" y="${top}" width="${panelW}" height="${panelH}" fill="none" stroke="#888"/>`,
      `<text x="${left}" y="${top - 24}" font-size="13">${title}</text>`,
      `<text x="${left}" y="${top - 8}" font-size="11">latency (ms, log scale) by percentile (tail scale) of ${p === 0 ? 'pages' : 'calls'}</text>`,
    )
    for (const ms of [1, 10, 100, 1000].filter((v) => v <= maxMs * 1.5)) {
      parts.push(
        `<line x1="${left}" x2="${left + panelW}" y1="${y(ms).toFixed(1)}" y2="${y(ms).toFixed(1)}" stroke="#eee"/>`,
        `<text x="${left - 4}" y="${(y(ms) + 4).toFixed(1)}" font-size="10" text-anchor="end">${ms}</text>`,
      )
    }
    for (const [q, label] of [
      [0, 'p0'],
      [0.5, 'p50'],
      [0.9, 'p90'],
      [0.99, 'p99'],
      [1, 'max'],
    ] as const) {
      parts.push(
        `<text x="${x(q).toFixed(1)}" y="${top + panelH + 14}" font-size="10" text-anchor="middle">${label}</text>`,
      )
    }
    results.forEach((r, i) => {
      const n = r.sorted.length
      const step = Math.max(1, Math.floor(n / 400))
      const points: string[] = []
      for (let k = 0; k < n; k += k >= n - 40 ? 1 : step)
        points.push(`${x(k / n).toFixed(1)},${y(r.sorted[k] as number).toFixed(1)}`)
      points.push(`${x(1).toFixed(1)},${y(r.sorted[n - 1] as number).toFixed(1)}`)
      parts.push(
        `<polyline fill="none" stroke="${colors[i]}" stroke-width="1.5" points="${points.join(' ')}"/>`,
        `<text x="${left + 8}" y="${top + 16 + i * 15}" font-size="11" fill="${colors[i]}">${r.name}: p99 ${r.p99} ms, +${r.extraLoadPct} % requests</text>`,
      )
    })
  })
  const height = top + panelH + 30
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n<title>Hedging benchmark: latency by percentile, hedging off and on</title>\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0
  return round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number)
}

function round(value: number, digits = 1): number {
  return Number(value.toFixed(digits))
}

function fmtLoad(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(' / ')
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
