/**
 * Fleet circuit benchmark, 3 replica processes on one real redis-server and the mock upstream:
 *
 * 1. upstream calls to a dead route until every replica has stopped calling it, fleet mode off
 *    (each replica's own breaker) against on (the Redis breaker store, quorum 2), in one run;
 * 2. fail-fast spread: how far apart the replicas learn of the fleet opening, from the times each
 *    one reports (`performance.timeOrigin + performance.now()`, comparable across processes),
 *    measured from the replica whose failure opened it.
 *
 * Traffic, with the client's default retries (2) and trip rule (3 failures in 30 s):
 * - `sequential`: a round-robin load balancer sends one GET at a time to A, B, C, A, ...;
 * - `concurrent`: every replica gets 2 GETs at once per round, so up to 6 calls are in flight
 *   when the upstream dies; those are sent whatever any breaker decides.
 * Each trial runs until all three replicas fail fast. Redis commands time out after 1 s (not the
 * default 50 ms), so that a loaded machine measures the fleet path, not the local fallback. Run: `npx -y pnpm@10 --filter @userevents/redis bench`
 * (builds first from the root: `npx -y pnpm@10 bench`).
 */
import { availableParallelism, loadavg } from 'node:os'
import { createMockUpstream } from '@userevents/mock-server'
import { Redis } from 'ioredis'
import { type Replica, startReplica } from '../test/fleet.js'
import { startRedisServer } from '../test/redis-server.js'

const TRIALS = Number(process.env.TRIALS ?? 5)
const path = '/getUserById/1'

const redis = await startRedisServer()
const admin = new Redis(redis.url)
const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
const upstream = await mock.listen()

interface Trial {
  calls: number
  spreadMs: number | undefined
  /** Spread of one IPC message sent to the 3 processes at once: the machine's scheduling floor. */
  pingSpreadMs: number
}

type Traffic = 'sequential' | 'concurrent'

async function trial(fleet: 'on' | 'off', traffic: Traffic): Promise<Trial> {
  await admin.flushall()
  mock.setMode('healthy')
  const replicas = await Promise.all(
    ['A', 'B', 'C'].map((id) =>
      startReplica(id, {
        redisUrl: redis.url,
        upstream: upstream.url,
        fleet,
        quorum: 2,
        retries: 2,
      }),
    ),
  )
  try {
    // Warm: one successful call each, so every replica already knows the operation.
    await Promise.all(replicas.map((r) => r.call(path)))
    mock.setMode('down')
    mock.resetCalls()
    const stopped = (r: Replica) => r.states.some((s) => s.to === 'open')
    for (let round = 0; round < 200 && !replicas.every(stopped); round++) {
      if (traffic === 'concurrent') await Promise.all(replicas.map((r) => r.burst(path, 2)))
      else for (const r of replicas) await r.call(path)
    }
    // Once every replica fails fast, more rounds must not reach the upstream.
    const calls = mock.calls('getUserById')
    await Promise.all(replicas.map((r) => r.burst(path, 2)))
    if (mock.calls('getUserById') !== calls)
      throw new Error('a replica still called the dead route')
    // A replica stopped by its own breaker may still be about to hear of the fleet opening.
    const heard = (r: Replica) => r.states.some((s) => s.scope === 'fleet' && s.to === 'open')
    for (let i = 0; fleet === 'on' && i < 300 && !replicas.every(heard); i++) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    const opened = replicas.map(
      (r) => r.states.find((s) => s.scope === 'fleet' && s.to === 'open')?.at,
    )
    if (opened.some((t) => t === undefined) && fleet === 'on') {
      console.log(
        `  (trial without a spread: replica modes ${replicas.map((r) => r.modes.join('>')).join(' | ')})`,
      )
    }
    const spreadMs = opened.every((t) => t !== undefined)
      ? Math.max(...(opened as number[])) - Math.min(...(opened as number[]))
      : undefined
    const pings = await Promise.all(replicas.map((r) => r.ping()))
    const pingSpreadMs = Math.max(...pings) - Math.min(...pings)
    return { calls, spreadMs, pingSpreadMs }
  } finally {
    await Promise.all(replicas.map((r) => r.close()))
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}
const spreads: number[] = []
const finite = (values: number[]) => values.filter((v) => Number.isFinite(v))
const pingSpreads: number[] = []
const lines: string[] = []
for (const traffic of ['sequential', 'concurrent'] as const) {
  const results: Record<'on' | 'off', Trial[]> = { on: [], off: [] }
  // Interleaved, so both configurations see the same machine load.
  for (let i = 0; i < TRIALS; i++) {
    results.off.push(await trial('off', traffic))
    results.on.push(await trial('on', traffic))
  }
  const off = results.off.map((t) => t.calls)
  const on = results.on.map((t) => t.calls)
  spreads.push(...finite(results.on.map((t) => t.spreadMs ?? Number.NaN)))
  pingSpreads.push(...results.on.map((t) => t.pingSpreadMs))
  lines.push(
    `${traffic}: upstream calls to the dead route until all 3 replicas fail fast`,
    `  fleet off: median ${median(off)}, all ${off.join(' ')}`,
    `  fleet on : median ${median(on)}, all ${on.join(' ')} (quorum 2)`,
    `  ratio on/off: ${(median(on) / median(off)).toFixed(2)}`,
  )
}
console.log(
  `machine: ${availableParallelism()} cores, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}; ${TRIALS} trials per configuration, interleaved`,
)
for (const line of lines) console.log(line)
console.log('fail-fast spread after each fleet opening (first to last replica to learn it):')
console.log(
  `  median ${median(spreads).toFixed(2)} ms, max ${Math.max(...spreads).toFixed(2)} ms, ` +
    `within 10 ms: ${spreads.filter((s) => s <= 10).length} of ${spreads.length}`,
)
console.log(
  `baseline, one IPC message to the same 3 processes at once: median ${median(pingSpreads).toFixed(2)} ms, ` +
    `max ${Math.max(...pingSpreads).toFixed(2)} ms`,
)
admin.disconnect()
await upstream.close()
await redis.stop()
