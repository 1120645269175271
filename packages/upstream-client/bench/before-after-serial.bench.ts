/**
 * The steadier companion of `before-after.bench.ts`: one call at a time (no concurrency, so less
 * exposed to other processes), `BENCH_ALTERNATIONS` (default 40) alternations of `BENCH_CALLS`
 * (default 30,000) sequential calls per build through the in-memory dispatcher; prints the median
 * time of each build and after ÷ before (time per call: below 1 is faster).
 *
 * Run: `BEFORE_DIST=<old tree>/packages/upstream-client/dist/index.js npx tsx bench/before-after-serial.bench.ts`
 */
import { pathToFileURL } from 'node:url'
import { InMemoryDispatcher } from './in-memory-dispatcher.js'

type ClientModule = typeof import('../src/index.js')

const ALTERNATIONS = Number(process.env.BENCH_ALTERNATIONS ?? 40)
const CALLS = Number(process.env.BENCH_CALLS ?? 30_000)
const beforePath = process.env.BEFORE_DIST
if (beforePath === undefined) throw new Error('set BEFORE_DIST to the older build (dist/index.js)')
const before = (await import(pathToFileURL(beforePath).href)) as ClientModule
const after = (await import(new URL('../dist/index.js', import.meta.url).href)) as ClientModule
const dispatcher = new InMemoryDispatcher()
const configs = { 'no cache': {}, 'cache on (hits)': { cache: { ttlMs: 600_000 } } }

for (const [name, options] of Object.entries(configs)) {
  const make = (m: ClientModule) =>
    m.createUpstreamClient({ baseUrl: 'http://in-memory', dispatcher, ...options })
  const clients = { before: make(before), after: make(after) }
  const times = { before: [] as number[], after: [] as number[] }
  for (const build of ['before', 'after'] as const) await run(clients[build])
  for (let i = 0; i < ALTERNATIONS; i++) {
    for (const build of ['before', 'after'] as const) times[build].push(await run(clients[build]))
  }
  const b = median(times.before)
  const a = median(times.after)
  console.log(
    `${name}: before ${b.toFixed(1)} ms, after ${a.toFixed(1)} ms, after / before ${(a / b).toFixed(3)}`,
  )
}

async function run(client: { get(path: string): Promise<unknown> }): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < CALLS; i++) await client.get('/x')
  return performance.now() - started
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}
