/**
 * `pnpm --filter @userevents/example-event-service bench:context`: what OpenTelemetry's context
 * managers cost on this Node line, in-process, on a request-shaped async chain (a span context
 * entered with `context.with`, then 12 awaited promises, a `process.nextTick` and a
 * `setImmediate`, as a Fastify request with an async handler does). Three setups, each measured
 * in a child process of its own (a context manager, once enabled, stays enabled in its process):
 * none (the API's no-op), the SDK's default `AsyncLocalStorageContextManager`, and
 * `AsyncHooksContextManager`. Six rounds per setup, interleaved; prints the median chains per
 * second and the µs each manager adds per chain. Run it under each supported Node line, e.g.
 * `npx -y -p node@24 node --import tsx bench/context-manager.bench.ts`.
 */
import { execFileSync, execSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const SETUPS = ['none', 'async-local-storage', 'async-hooks'] as const
type Setup = (typeof SETUPS)[number]
const CHAINS = Number(process.env.BENCH_CHAINS ?? 200_000)
const ROUNDS = 6

if (process.env.CONTEXT_BENCH_SETUP !== undefined) {
  await measure(process.env.CONTEXT_BENCH_SETUP as Setup)
} else {
  const load = () => execSync('uptime').toString().trim()
  console.log(`context managers: node ${process.version}; load before: ${load()}`)
  const rates: Record<Setup, number[]> = { none: [], 'async-local-storage': [], 'async-hooks': [] }
  const self = fileURLToPath(import.meta.url)
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < SETUPS.length; i++) {
      const setup = SETUPS[(round + i) % SETUPS.length] as Setup
      const out = execFileSync(process.execPath, [...process.execArgv, self], {
        env: { ...process.env, CONTEXT_BENCH_SETUP: setup },
      })
      rates[setup].push(Number(out.toString().trim()))
    }
  }
  const median = (xs: number[]) =>
    [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
  const none = median(rates.none)
  const rows = SETUPS.map((setup) => {
    const rate = median(rates[setup])
    return {
      setup,
      'chains/s (median of 6)': Math.round(rate),
      'vs none': `${(rate / none).toFixed(2)} ×`,
      'µs added per chain': ((1 / rate - 1 / none) * 1e6).toFixed(2),
    }
  })
  console.table(rows)
  console.log(`load after: ${load()}`)
}

/** Private: one setup in this process; prints chains per second. */
async function measure(setup: Setup): Promise<void> {
  const api = await import('@opentelemetry/api')
  if (setup !== 'none') {
    const hooks = await import('@opentelemetry/context-async-hooks')
    const manager =
      setup === 'async-hooks'
        ? new hooks.AsyncHooksContextManager()
        : new hooks.AsyncLocalStorageContextManager()
    api.context.setGlobalContextManager(manager.enable())
  }
  const key = api.createContextKey('span')
  const chain = async (i: number) => {
    let n = i
    for (let k = 0; k < 12; k++) n += await Promise.resolve(k)
    await new Promise<void>((resolve) => process.nextTick(resolve))
    await new Promise<void>((resolve) => setImmediate(resolve))
    // Read the context as a log mixin or a child span would.
    return api.context.active().getValue(key) === undefined ? n : n + 1
  }
  const run = async (count: number) => {
    const batch = 100
    for (let i = 0; i < count; i += batch) {
      const all: Promise<number>[] = []
      for (let j = 0; j < batch; j++) {
        all.push(api.context.with(api.context.active().setValue(key, i + j), chain, undefined, j))
      }
      await Promise.all(all)
    }
  }
  await run(CHAINS / 10)
  const start = performance.now()
  await run(CHAINS)
  process.stdout.write(`${CHAINS / ((performance.now() - start) / 1000)}\n`)
}
