/**
 * CPU overhead of the client's policies, without a network: an in-memory undici Dispatcher
 * answers every request on the next microtask, so the figures are the client's own cost per
 * call. Used to decide which layers must stay off the success path (see the circuit breaker's
 * closed-state fast path). Run: `npx tsx bench/overhead.bench.ts` (about 15 s).
 */
import CircuitBreaker from 'opossum'
import pRetry from 'p-retry'
import { Dispatcher } from 'undici'
import {
  createCircuitBreaker,
  createUpstreamClient,
  path,
  type UpstreamClientOptions,
} from '../src/index.js'

const BODY = Buffer.from(JSON.stringify({ id: '1', name: 'login', userId: '1' }))
const CALLS = Number(process.env.BENCH_CALLS ?? 200_000)

/** Answers 200 with a small JSON body through the handler API undici's own dispatchers use. */
class InMemoryDispatcher extends Dispatcher {
  override dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    const controller = {
      abort() {},
      pause() {},
      resume() {},
      aborted: false,
      paused: false,
      reason: null,
    } as unknown as Dispatcher.DispatchController
    queueMicrotask(() => {
      handler.onRequestStart?.(controller, {})
      handler.onResponseStart?.(controller, 200, { 'content-type': 'application/json' }, 'OK')
      handler.onResponseData?.(controller, BODY)
      handler.onResponseEnd?.(controller, {})
    })
    return true
  }
}

async function callsPerSecond(call: () => Promise<unknown>): Promise<number> {
  let started = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (started++ < CALLS) await call()
    }),
  )
  return (CALLS / (performance.now() - t0)) * 1000
}

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
