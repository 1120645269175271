/**
 * CPU overhead of the client's policies, without a network: an in-memory undici Dispatcher
 * answers every request on the next microtask, so the figures are the client's own cost per
 * call. Used to decide which layers must stay off the success path (see the circuit breaker's
 * closed-state fast path). Run: `npx tsx bench/overhead.bench.ts` (about 15 s).
 */
import CircuitBreaker from 'opossum'
import pRetry from 'p-retry'
import {
  createCircuitBreaker,
  createUpstreamClient,
  path,
  type UpstreamClientOptions,
} from '../src/index.js'
import { callsPerSecond, InMemoryDispatcher } from './in-memory-dispatcher.js'

const dispatcher = new InMemoryDispatcher()
const base = { baseUrl: 'http://in-memory', dispatcher }
const client = (options: Partial<UpstreamClientOptions>) => {
  const c = createUpstreamClient({ ...base, ...options })
  return () => c.get('/x')
}
const bare = createUpstreamClient({ ...base, retry: false, breaker: false })
const opossum = new CircuitBreaker(() => bare.get('/x'), {
  timeout: false,
  rollingPercentilesEnabled: false,
  enableSnapshots: false,
})
const onlyOtel = process.argv.includes('--otel-only')
const contenders: Record<string, () => Promise<unknown>> = {
  'no policies': () => bare.get('/x'),
  'retry only': client({ breaker: false }),
  'breaker only': client({ retry: false }),
  'retry + breaker (default: per operation)': client({}),
  'retry + per-operation breakers, path tag': (() => {
    const c = createUpstreamClient(base)
    return () => c.get(path`/getEventById/${1}`)
  })(),
  'retry + single shared breaker': client({ breaker: createCircuitBreaker({ name: 'bench' }) }),
  // The designs the client avoids on its success path, for comparison:
  'no policies, each call wrapped in pRetry': () => pRetry(() => bare.get('/x'), { retries: 2 }),
  'no policies, each call through opossum fire()': () => opossum.fire(),
}
// `--otel-only` skips this first table (the OpenTelemetry section below is the slow part).
if (!onlyOtel) {
  const results: Record<string, number[]> = {}
  for (let round = 0; round < 3; round++) {
    for (const [name, call] of Object.entries(contenders)) {
      const rate = await callsPerSecond(call)
      results[name] = [...(results[name] ?? []), rate]
    }
  }
  console.log('| configuration | calls/s (best of 3) | µs per call |')
  console.log('| --- | ---: | ---: |')
  for (const [name, rates] of Object.entries(results)) {
    const best = Math.max(...rates)
    console.log(`| ${name} | ${Math.round(best)} | ${(1e6 / best).toFixed(2)} |`)
  }
}

// --- OpenTelemetry ------------------------------------------------------------------------------
// The default client (retry + breaker) with OpenTelemetry absent, installed without an SDK, and
// with an SDK recording every span and metric. Each measurement runs in its own process; the
// three modes alternate (in a rotating order) for BENCH_ROUNDS rounds (default 3) and each
// keeps its best round. On a loaded machine raise BENCH_ROUNDS: "absent" and "API, no SDK" run
// the very same per-call code, so any gap between them is the machine's noise.
const { execFileSync } = await import('node:child_process')
const { fileURLToPath } = await import('node:url')
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url))
const modes = ['absent', 'api', 'sdk'] as const
const otel: Record<string, number[]> = {}
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
for (let round = 0; round < rounds; round++) {
  // The order rotates each round, so no mode always runs first (or last) in a round.
  const shift = round % modes.length
  for (const mode of [...modes.slice(shift), ...modes.slice(0, shift)]) {
    const preload = mode === 'absent' ? ['--require', here('./block-otel.cjs')] : []
    const out = execFileSync(
      process.execPath,
      [...preload, '--import', 'tsx', here('./otel-worker.ts'), mode],
      { encoding: 'utf8' },
    )
    const result = JSON.parse(out.trim().split('\n').at(-1) as string)
    if (result.apiLoaded !== (mode !== 'absent')) throw new Error(`bad setup: ${out}`)
    if (mode === 'sdk' && result.exported === 0) throw new Error('the SDK recorded no span')
    otel[mode] = [...(otel[mode] ?? []), result.rate]
  }
}
const best = (mode: string) => Math.max(...(otel[mode] as number[]))
const labels = {
  absent: '@opentelemetry/api absent',
  api: 'API installed, no SDK',
  sdk: 'SDK recording (traces + metrics)',
}
console.log(
  `\n| OpenTelemetry (default client) | calls/s (best of ${rounds}) | µs per call | vs absent |`,
)
console.log('| --- | ---: | ---: | ---: |')
for (const mode of modes) {
  const rate = best(mode)
  console.log(
    `| ${labels[mode]} | ${Math.round(rate)} | ${(1e6 / rate).toFixed(2)} | ${(rate / best('absent')).toFixed(3)} |`,
  )
}
