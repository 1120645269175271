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
 * With `--cluster` (`pnpm demo:fleet -- --cluster`, or `pnpm demo:fleet:cluster`) fleet mode runs
 * on a real Redis Cluster of 6 nodes (3 primaries, 3 replicas; `REDIS_CLUSTER_NODES`) instead of
 * one Redis, and a fifth row shows a primary SIGKILLed while a cold page is being read on all
 * three replicas: the answers, how long after the replica's promotion every replica was back in
 * fleet mode, and the event reads of the next cold page.
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
import { type RedisCluster, startRedisCluster } from '../../../packages/redis/test/redis-cluster.js'
import { type RedisServer, startRedisServer } from '../../../packages/redis/test/redis-server.js'
import { createDemoConsole } from './demo/console.js'
import { send, sleep } from './demo/http.js'

// The built service, as `pnpm start` runs it (the root `pnpm demo:fleet` builds first).
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url))
const RESET_MS = 1_000
const PERIODS = 4
const USER = 'fleet-user'
const page = `/getEventsByUserId/${USER}?limit=50`
const onCluster = process.argv.includes('--cluster')
// Cold pages for the failover row (cluster only): one read while a primary dies, one after.
const DURING = 'failover-during'
const AFTER = 'failover-after'

/** One service replica in its own process. */
interface Replica {
  name: string
  url: string
  child: ChildProcess
}

async function demo(): Promise<void> {
  const c = createDemoConsole()
  const { style } = c
  const users = [USER, DURING, AFTER].map((userId, i) =>
    generateUserWithEvents(50, { userId, firstEventId: 1 + i * 50 }),
  )
  const data = { users: users.flatMap((d) => d.users), events: users.flatMap((d) => d.events) }
  // Healthy and with the original 500 ms event reads, so three replicas asking at once overlap.
  const mock = createMockUpstream({ mode: 'healthy', data })
  const upstream = await mock.listen()
  let redis: RedisServer | undefined
  let cluster: RedisCluster | undefined
  let fleetEnv: Record<string, string>
  if (onCluster) {
    cluster = await startRedisCluster()
    fleetEnv = { REDIS_CLUSTER_NODES: cluster.urls.join(',') }
  } else {
    redis = await startRedisServer()
    fleetEnv = { REDIS_URL: redis.url }
  }

  c.heading(
    'userevents · fleet demo',
    `3 replicas of the event service, fleet mode off vs on${onCluster ? ' (Redis Cluster)' : ''}`,
  )
  c.line(`mock upstream  ${style.cyan(upstream.url)}`)
  if (cluster !== undefined) {
    c.line(
      `redis cluster  ${style.cyan(cluster.urls.map((u) => u.replace('redis://', '')).join(' '))}`,
    )
    c.line(
      `               3 primaries + 3 replicas, pids ${cluster.nodes.map((n) => n.pid).join(' ')}, started for this demo`,
    )
  } else if (redis !== undefined) {
    c.line(`redis-server   ${style.cyan(redis.url)} (pid ${redis.pid}, started for this demo)`)
  }
  c.line(
    `breaker        3 failures in 30 s open a circuit, reset ${RESET_MS} ms; fleet quorum 2 replicas`,
  )
  c.line(
    'replicas       REDIS_COMMAND_TIMEOUT_MS=1000, UPSTREAM_TIMEOUT_MS=10000 (a loaded machine)',
  )

  const results: Record<'off' | 'on', string[]> = { off: [], on: [] }
  try {
    for (const fleet of ['off', 'on'] as const) {
      const [variable] = Object.keys(fleetEnv)
      c.heading(
        `Fleet mode ${fleet}`,
        fleet === 'on' ? `${variable}=${Object.values(fleetEnv)[0]}` : `no ${variable}`,
      )
      mock.setMode('healthy')
      // Fleet mode off runs first and never touches Redis, so fleet mode on starts cold too.
      const env: Record<string, string> = { UPSTREAM_BASE: upstream.url }
      if (fleet === 'on') Object.assign(env, fleetEnv)
      const replicas = await Promise.all(['A', 'B', 'C'].map((name) => startReplica(name, env)))
      try {
        results[fleet] = await stories(replicas, env)
      } finally {
        await Promise.all(replicas.map(stopReplica))
      }
    }
  } finally {
    await upstream.close()
    await redis?.stop()
    await cluster?.stop()
  }

  c.heading('Side by side', 'counted by the mock upstream')
  c.table(
    ['', 'fleet off', 'fleet on'],
    [
      'event reads: one cold page of 50 asked on 3 replicas at once',
      'event reads: replica C restarted, same page',
      'upstream calls after it went down, until all 3 fail fast',
      `probes per reset period (${RESET_MS} ms), over ${PERIODS} periods`,
      ...(onCluster
        ? [
            'a primary SIGKILLed mid cold page: answers; back in fleet mode after promotion; next cold page event reads',
          ]
        : []),
    ].map((label, i) => [label, results.off[i] ?? '-', results.on[i] ?? '?']),
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
    if (cluster !== undefined && env.REDIS_CLUSTER_NODES !== undefined) {
      mock.setMode('healthy')
      figures.push(await failover(cluster, replicas))
    }
    return figures
  }

  /** Cluster only: a primary dies while a cold page is read on all three replicas. */
  async function failover(cluster: RedisCluster, replicas: Replica[]): Promise<string> {
    const [victim] = await cluster.primaries()
    if (victim?.replicaPort === undefined) throw new Error('no primary with a replica')
    const during = Promise.all(
      replicas.map((r) => send('GET', `${r.url}/getEventsByUserId/${DURING}?limit=50`)),
    )
    await sleep(100)
    cluster.kill(victim.port)
    c.at(
      `primary on port ${victim.port} SIGKILLed (pid), its replica on ${victim.replicaPort} takes over`,
    )
    const statuses = (await during).map((p) => p.status).join(' ')
    c.at(`cold page on A, B, C while it died: ${statuses}`)
    await cluster.waitForPromotion(victim.replicaPort, 30_000)
    const promoted = performance.now()
    c.at('replica promoted, cluster_state:ok')
    for (;;) {
      const modes = await Promise.all(
        replicas.map((r) => send<{ redis?: { mode: string } }>('GET', `${r.url}/readyz`)),
      )
      if (modes.every((m) => m.body.redis?.mode === 'fleet')) break
      if (performance.now() - promoted > 30_000) throw new Error('not back in fleet mode in 30 s')
      await sleep(50)
    }
    const back = ((performance.now() - promoted) / 1_000).toFixed(1)
    c.at(`A, B and C back in fleet mode ${back} s after the promotion`)
    mock.resetCalls()
    const after = await Promise.all(
      replicas.map((r) => send('GET', `${r.url}/getEventsByUserId/${AFTER}?limit=50`)),
    )
    const reads = mock.calls('getEventById')
    c.at(
      `cold page after the failover: ${after.map((p) => p.status).join(' ')}; ${reads} event reads`,
    )
    return `${statuses}; ${back} s; ${reads}`
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
  if (env.REDIS_URL !== undefined || env.REDIS_CLUSTER_NODES !== undefined) {
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
