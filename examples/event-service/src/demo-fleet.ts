/**
 * `pnpm demo:fleet`: three replicas of the event service in three processes on loopback ports,
 * one mock upstream, one Redis (started here on a free port and stopped by pid), run twice: fleet
 * mode off (no `REDIS_URL`), then on. It prints, side by side, what the upstream sees:
 *
 * 1. event reads for the same cold page asked on all three replicas at once;
 * 2. event reads when a replica restarts and serves that page again;
 * 3. upstream calls once the upstream goes down, until every replica fails fast;
 * 4. probes per reset period while it stays down.
 *
 * Everything is counted by the mock upstream; nothing is estimated. Needs `redis-server`
 * (`pnpm ensure:redis` installs it where it can) and a build of the service (`dist/main.js`; the
 * root `pnpm demo:fleet` builds first).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { createMockUpstream, generateUserWithEvents } from '@userevents/mock-server'
import { startRedisServer } from '../../../packages/redis/test/redis-server.js'
import { createDemoConsole } from './demo/console.js'
import { send, sleep } from './demo/http.js'

// The built service, as `pnpm start` runs it (the root `pnpm demo:fleet` builds first).
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const RESET_MS = 1_000
const PERIODS = 4
const USER = 'fleet-user'
const page = `/getEventsByUserId/${USER}?limit=50`

/** One service replica in its own process. */
interface Replica {
  name: string
  url: string
  child: ChildProcess
}

async function demo(): Promise<void> {
  const c = createDemoConsole()
  const { style } = c
  const data = generateUserWithEvents(50, { userId: USER, firstEventId: 1 })
  // Healthy and with the original 500 ms event reads, so three replicas asking at once overlap.
  const mock = createMockUpstream({ mode: 'healthy', data })
  const upstream = await mock.listen()
  const redis = await startRedisServer()

  c.heading('userevents · fleet demo', '3 replicas of the event service, fleet mode off vs on')
  c.line(`mock upstream  ${style.cyan(upstream.url)}`)
  c.line(`redis-server   ${style.cyan(redis.url)} (pid ${redis.pid}, started for this demo)`)
  c.line(
    `breaker        3 failures in 30 s open a circuit, reset ${RESET_MS} ms; fleet quorum 2 replicas`,
  )
  c.line(
    'replicas       REDIS_COMMAND_TIMEOUT_MS=1000, UPSTREAM_TIMEOUT_MS=10000 (a loaded machine)',
  )

  const results: Record<'off' | 'on', string[]> = { off: [], on: [] }
  try {
    for (const fleet of ['off', 'on'] as const) {
      c.heading(`Fleet mode ${fleet}`, fleet === 'on' ? `REDIS_URL=${redis.url}` : 'no REDIS_URL')
      mock.setMode('healthy')
      // Fleet mode off runs first and never touches Redis, so fleet mode on starts cold too.
      const env: Record<string, string> = { UPSTREAM_BASE: upstream.url }
      if (fleet === 'on') env.REDIS_URL = redis.url
      const replicas = await Promise.all(['A', 'B', 'C'].map((name) => startReplica(name, env)))
      try {
        results[fleet] = await stories(replicas, env)
      } finally {
        await Promise.all(replicas.map(stopReplica))
      }
    }
  } finally {
    await upstream.close()
    await redis.stop()
  }

  c.heading('Side by side', 'counted by the mock upstream')
  c.table(
    ['', 'fleet off', 'fleet on'],
    [
      'event reads: one cold page of 50 asked on 3 replicas at once',
      'event reads: replica C restarted, same page',
      'upstream calls after it went down, until all 3 fail fast',
      `probes per reset period (${RESET_MS} ms), over ${PERIODS} periods`,
    ].map((label, i) => [label, results.off[i] ?? '?', results.on[i] ?? '?']),
  )

  /** The four stories on one set of replicas; returns the four figures. */
  async function stories(replicas: Replica[], env: Record<string, string>): Promise<string[]> {
    const figures: string[] = []

    mock.resetCalls()
    const pages = await Promise.all(replicas.map((r) => send('GET', r.url + page)))
    const statuses = pages.map((p) => p.status).join(' ')
    figures.push(String(mock.calls('getEventById')))
    c.at(`cold page on A, B, C at once: ${statuses}; ${mock.calls('getEventById')} event reads`)

    await stopReplica(replicas[2] as Replica)
    replicas[2] = await startReplica('C', env)
    mock.resetCalls()
    const again = await send('GET', (replicas[2] as Replica).url + page)
    figures.push(String(mock.calls('getEventById')))
    c.at(`C restarted, same page: ${again.status}; ${mock.calls('getEventById')} event reads`)

    // The upstream goes down. A load balancer sends one request at a time, round robin; each
    // request may take up to 3 attempts (2 retries). Counted: calls the upstream receives until
    // every replica has answered without calling it.
    mock.setMode('down')
    mock.resetCalls()
    const failingFast = new Set<string>()
    for (let i = 0; i < 60 && failingFast.size < 3; i++) {
      const r = replicas[i % 3] as Replica
      const before = mock.calls('getUsers')
      const res = await send('GET', `${r.url}/getUsers`)
      if (mock.calls('getUsers') === before) failingFast.add(r.name)
      else failingFast.delete(r.name)
      if (res.status < 500) throw new Error(`expected an error from ${r.name}, got ${res.status}`)
    }
    figures.push(String(mock.calls('getUsers')))
    c.at(`upstream down: ${mock.calls('getUsers')} upstream calls until A, B and C all fail fast`)

    // Still down: requests keep coming to every replica for a few reset periods; every call the
    // upstream still gets is a half-open probe.
    mock.resetCalls()
    const until = performance.now() + PERIODS * RESET_MS
    while (performance.now() < until) {
      await Promise.all(replicas.map((r) => send('GET', `${r.url}/getUsers`)))
      await sleep(20)
    }
    const probes = mock.calls('getUsers') / PERIODS
    figures.push(probes.toFixed(1))
    c.at(`still down for ${PERIODS} reset periods: ${mock.calls('getUsers')} probes in all`)
    return figures
  }
}

/** Starts `src/main.ts` on a free port with the demo's settings; resolves once it listens. */
async function startReplica(name: string, env: Record<string, string>): Promise<Replica> {
  const child = spawn(process.execPath, [main], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      // No list cache, so each /getUsers reaches the client's breaker (and the upstream).
      LIST_CACHE_TTL_MS: '0',
      BREAKER_RESET_TIMEOUT_MS: String(RESET_MS),
      // Generous, because this demo runs three services, Redis and the mock on one machine,
      // often a shared one: the point is the fleet path, not the fallback to local mode.
      REDIS_COMMAND_TIMEOUT_MS: '1000',
      UPSTREAM_TIMEOUT_MS: '10000',
      UPSTREAM_DEADLINE_MS: '20000',
      ...env,
    },
  })
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
  const url = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`replica ${name} exited with ${code}`)))
    lines.on('line', (line) => {
      const match = /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(line)
      if (match?.[1] !== undefined && line.includes('listening')) resolve(match[1])
    })
  })
  // In fleet mode a replica starts in local mode until its Redis connection is up; the demo
  // waits for that (its /readyz says so), as a load balancer would wait for readiness.
  if (env.REDIS_URL !== undefined) {
    for (let i = 0; i < 100; i++) {
      const ready = await send<{ redis?: { mode: string } }>('GET', `${url}/readyz`)
      if (ready.body.redis?.mode === 'fleet') break
      await sleep(50)
    }
  }
  return { name, url, child }
}

async function stopReplica(r: Replica): Promise<void> {
  if (r.child.exitCode !== null) return
  const exited = once(r.child, 'exit')
  r.child.kill('SIGTERM')
  await exited
}

demo().catch((error: unknown) => {
  process.stderr.write(`demo:fleet failed: ${error instanceof Error ? error.stack : error}\n`)
  process.exit(1)
})
