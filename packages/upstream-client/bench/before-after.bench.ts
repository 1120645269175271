/**
 * Before/after benchmark: this build of the client against an older build (by default the one
 * before the composed pipeline, commit 5461c0d, checked out and built in a worktree), loaded in
 * the same process and measured in interleaved slices, so both see the same machine drift.
 *
 * Two scenarios, each with the same client options for both builds:
 * - `client.bench` (cache off): the default client (retry + per-operation breakers) over a real
 *   keep-alive socket to a node:http server in a child process, path tag included;
 * - `overhead.bench` (cache on): the in-memory dispatcher of `overhead.bench.ts`, so the figure is
 *   the client's own CPU cost per call: the default client without a cache, and with a cache
 *   (every call after the first is a fresh hit).
 *
 * Run (after `pnpm build`):
 *   git worktree add /tmp/before 5461c0d && (cd /tmp/before && pnpm install && pnpm build)
 *   BEFORE_DIST=/tmp/before/packages/upstream-client/dist/index.js npx tsx bench/before-after.bench.ts
 * Prints the median req/s of each build per scenario, the ratio after/before and the load.
 */
import { spawn } from 'node:child_process'
import os from 'node:os'
import { pathToFileURL } from 'node:url'
import { InMemoryDispatcher } from './in-memory-dispatcher.js'

type ClientModule = typeof import('../src/index.js')
type Call = () => Promise<unknown>

const WORKERS = Number(process.env.BENCH_WORKERS ?? 50)
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 500)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15)
const beforePath = process.env.BEFORE_DIST
if (beforePath === undefined) throw new Error('set BEFORE_DIST to the older build (dist/index.js)')
const afterPath = new URL('../dist/index.js', import.meta.url).href

const before = (await import(pathToFileURL(beforePath).href)) as ClientModule
const after = (await import(afterPath)) as ClientModule

const SERVER_SOURCE = `
const http = require('node:http')
const body = JSON.stringify({ id: '1', name: 'login', userId: '1', details: 'from the bench' })
const server = http.createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
`

const child = spawn(process.execPath, ['-e', SERVER_SOURCE], { stdio: ['pipe', 'pipe', 'inherit'] })
const port = await new Promise<string>((resolve) =>
  child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
)
const origin = `http://127.0.0.1:${port}`
const dispatcher = new InMemoryDispatcher()

/** The scenarios, each built once per build with the same options. */
function scenarios(m: ClientModule): Record<string, Call> {
  const socket = m.createUpstreamClient({ baseUrl: origin, connections: WORKERS })
  const memory = m.createUpstreamClient({ baseUrl: 'http://in-memory', dispatcher })
  const cached = m.createUpstreamClient({
    baseUrl: 'http://in-memory',
    dispatcher,
    cache: { ttlMs: 600_000 },
  })
  return {
    'client.bench: default client, real socket, cache off': () =>
      socket.get(m.path`/getEventById/${1}`),
    'overhead.bench: default client, in-memory, no cache': () => memory.get('/x'),
    'overhead.bench: default client, in-memory, cache on (hits)': () => cached.get('/x'),
  }
}

const contenders = { before: scenarios(before), after: scenarios(after) }
const names = Object.keys(contenders.after)
const slices: Record<string, { before: number[]; after: number[] }> = Object.fromEntries(
  names.map((n) => [n, { before: [], after: [] }]),
)

const loadBefore = os.loadavg()
for (const name of names) {
  for (const build of ['before', 'after'] as const)
    await closedLoop(contenders[build][name] as Call, 300)
}
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which build goes first, so neither always follows the other.
  const order = round % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const)
  for (const name of names) {
    for (const build of order) {
      slices[name]?.[build].push(await closedLoop(contenders[build][name] as Call, SLICE_MS))
    }
  }
  process.stderr.write(`round ${round + 1}/${ROUNDS}\r`)
}
const loadAfter = os.loadavg()

console.log(
  `\nNode ${process.version}, ${os.cpus().length} CPUs, ${WORKERS} workers, median of ${ROUNDS} interleaved ${SLICE_MS} ms slices per build`,
)
console.log(`load average before: ${fmt(loadBefore)}, after: ${fmt(loadAfter)}\n`)
console.log(
  '| scenario | before req/s | after req/s | after / before | median of per-round ratios |',
)
console.log('| --- | ---: | ---: | ---: | ---: |')
for (const name of names) {
  const s = slices[name] as { before: number[]; after: number[] }
  const ratios = s.after.map((a, i) => a / (s.before[i] as number))
  console.log(
    `| ${name} | ${Math.round(median(s.before))} | ${Math.round(median(s.after))} | ${(median(s.after) / median(s.before)).toFixed(3)} | ${median(ratios).toFixed(3)} |`,
  )
}
child.kill()
process.exit(0)

/** Closed loop: `WORKERS` loops each awaiting one call at a time until the time is up. */
async function closedLoop(call: Call, durationMs: number): Promise<number> {
  let done = 0
  const end = performance.now() + durationMs
  const worker = async () => {
    while (performance.now() < end) {
      await call()
      done++
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: WORKERS }, worker))
  return (done / (performance.now() - started)) * 1000
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

function fmt(load: number[]): string {
  return load.map((l) => l.toFixed(2)).join(' ')
}
