import {
  createMockUpstream,
  type MockServerHandle,
  type MockUpstream,
} from '@userevents/mock-server'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { createRedisBreakerStore } from '../src/breaker-store.js'
import { createRedisConnection } from '../src/connection.js'
import { type Replica, type ReplicaSettings, startReplica } from './fleet.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

// The fleet circuit end to end: a real redis-server, the mock upstream on a real port, and three
// replicas in child processes, each with its own client, Redis connections and local breaker.
// Windows are scaled down (reset 300 ms) and every assertion is a count or a state.

const OPERATION = 'GET /getUserById'
const path = '/getUserById/1'

let redis: RedisServer
let admin: Redis
let mock: MockUpstream
let upstream: MockServerHandle
const replicas: Replica[] = []

beforeAll(async () => {
  redis = await startRedisServer()
  admin = new Redis(redis.url)
  // The test's own connection sees the server stopped mid-test too; ioredis reconnects by
  // itself, and without a listener it prints every refused reconnect as "Unhandled error event".
  admin.on('error', () => {})
  mock = createMockUpstream({ delays: 0, mode: 'healthy' })
  upstream = await mock.listen()
})
afterAll(async () => {
  admin.disconnect()
  await upstream.close()
  await redis.stop()
})
beforeEach(async () => {
  if (redis.pid === undefined) await redis.restart()
  await admin.flushall()
  mock.setMode('healthy')
  mock.resetCalls()
})
afterEach(async () => {
  await Promise.all(replicas.splice(0).map((r) => r.close()))
})

async function fleet(count: number, settings: Partial<ReplicaSettings> = {}, upstreams?: string[]) {
  const started = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startReplica(String.fromCharCode(65 + i), {
        redisUrl: redis.url,
        upstream: upstreams?.[i] ?? upstream.url,
        ...settings,
      }),
    ),
  )
  replicas.push(...started)
  return started
}

const fleetOpened = (r: Replica) =>
  r.states.some((s) => s.scope === 'fleet' && s.to === 'open' && s.operation === OPERATION)

/** The failure window of the circuit, read from Redis by the test (what the quorum counts). */
async function window() {
  const keys = await admin.keys('userevents:v2:{fleet-test:*}:cb:r')
  const replicasInWindow = keys.length === 0 ? [] : await admin.zrange(keys[0] as string, 0, -1)
  const failureKeys = await admin.keys('userevents:v2:{fleet-test:*}:cb:f')
  const failures = failureKeys.length === 0 ? 0 : await admin.zcard(failureKeys[0] as string)
  return { replicas: replicasInWindow.sort(), failures }
}

// Three Node processes start per test: on a loaded 2-core machine that alone takes seconds.
describe('fleet circuit on Redis, 3 replica processes', { timeout: 60_000 }, () => {
  it('opens for the whole fleet once a quorum of replicas failed; a replica that never called fails fast with 0 upstream calls', async () => {
    const [a, b, c] = (await fleet(3, { quorum: 2 })) as [Replica, Replica, Replica]
    mock.setMode('down')
    for (let i = 0; i < 3; i++)
      expect(await a.call(path)).toMatchObject({ ok: false, code: 'UPSTREAM_HTTP_STATUS' })
    // A's three failures are in the window, but they come from one replica: below the quorum.
    await vi.waitFor(async () => expect(await window()).toEqual({ replicas: ['A'], failures: 3 }))
    expect([a, b, c].some(fleetOpened)).toBe(false)
    expect(await b.call(path)).toMatchObject({ ok: false, code: 'UPSTREAM_HTTP_STATUS' })
    // B's failure makes two replicas: the fleet circuit opens and C hears it over pub/sub.
    await vi.waitFor(() => expect(fleetOpened(c)).toBe(true))
    const callsBefore = mock.calls('getUserById')
    expect(await c.call(path)).toMatchObject({
      ok: false,
      code: 'UPSTREAM_CIRCUIT_OPEN',
      requests: 0,
      message: expect.stringMatching(/open in the fleet/),
    })
    expect(await b.call(path)).toMatchObject({
      ok: false,
      code: 'UPSTREAM_CIRCUIT_OPEN',
      requests: 1,
    })
    expect(mock.calls('getUserById')).toBe(callsBefore)
    expect(callsBefore).toBe(4)
  })

  it('one replica whose upstream address is unreachable does not open the circuit for the others', async () => {
    // A port that was just free: nothing listens there, so A's attempts fail with network errors.
    const unreachable = `http://127.0.0.1:${await closedPort()}`
    const [a, b, c] = (await fleet(3, { quorum: 2 }, [unreachable])) as [Replica, Replica, Replica]
    const outcomes = []
    for (let i = 0; i < 5; i++) outcomes.push((await a.call(path)).code)
    // A's own local breaker opened on its own failures (3), and then failed fast.
    expect(outcomes).toEqual([
      'UPSTREAM_NETWORK',
      'UPSTREAM_NETWORK',
      'UPSTREAM_NETWORK',
      'UPSTREAM_CIRCUIT_OPEN',
      'UPSTREAM_CIRCUIT_OPEN',
    ])
    await vi.waitFor(async () => expect(await window()).toEqual({ replicas: ['A'], failures: 3 }))
    for (const r of [b, c]) {
      const { codes } = await r.burst(path, 10)
      expect(codes).toEqual(Array(10).fill('ok'))
    }
    expect(mock.calls('getUserById')).toBe(20)
    expect([a, b, c].some(fleetOpened)).toBe(false)
    expect(a.states.map((s) => `${s.scope ?? 'local'}:${s.to}`)).toEqual(['local:open'])
  })

  it('sends exactly one probe per reset period in the whole fleet, then recovers fleet-wide', async () => {
    const resetMs = 300
    const [a, b, c] = (await fleet(3, { quorum: 1, resetMs })) as [Replica, Replica, Replica]
    const subscriber = await fleetListener()
    mock.setMode('down')
    for (let i = 0; i < 3; i++) await a.call(path)
    await vi.waitFor(() => expect([a, b, c].every(fleetOpened)).toBe(true))
    const opened = mock.calls('getUserById')
    expect(opened).toBe(3)
    // All three replicas keep calling through three reset periods, 5 concurrent calls each round.
    // Bounded, with what was seen, so that a stuck fleet fails with a diagnosis, not a timeout.
    const until = performance.now() + 30_000
    const seen: string[][] = []
    while (subscriber.opens() < 4) {
      const bursts = await Promise.all([a, b, c].map((r) => r.burst(path, 5)))
      seen.push(bursts.map((x) => x.codes.join(',')))
      if (performance.now() > until) {
        const last = (r: Replica) => r.states.slice(-4).map((x) => `${x.scope ?? ''}:${x.to}`)
        expect.fail(
          `fleet re-opened ${subscriber.opens()} times in 30 s; upstream calls ${mock.calls('getUserById') - opened}; modes ${JSON.stringify([a, b, c].map((r) => r.modes))}; last states ${JSON.stringify([a, b, c].map(last))}; last bursts ${JSON.stringify(seen.slice(-3))}; keys ${JSON.stringify(await admin.keys('*'))}`,
        )
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await Promise.all([a, b, c].map((r) => r.burst(path, 5)))
    // Every re-opening was caused by exactly one failed probe, whichever replica sent it (the
    // last probe's re-opening may still be on its way to the test's subscriber).
    // Bounded generously: on a loaded machine the last re-opening can take more than waitFor's
    // default second to reach the subscriber.
    await vi.waitFor(
      () => expect(mock.calls('getUserById') - opened).toBe(subscriber.opens() - 1),
      { timeout: 5_000 },
    )
    expect(subscriber.opens()).toBeGreaterThanOrEqual(4)
    subscriber.close()

    mock.setMode('healthy')
    // The next probe succeeds; the fleet-wide ramp then admits 2, 4, 8... calls at once across
    // the fleet (the rest fail fast) until the circuit is closed in Redis.
    await vi.waitFor(
      async () => {
        await Promise.all([a, b, c].map((r) => r.burst(path, 5)))
        expect(await admin.keys('userevents:v2:{fleet-test:*}:cb:s')).toEqual([])
      },
      { timeout: 10_000, interval: 20 },
    )
    expect([a, b, c].every((r) => r.states.at(-1)?.to === 'closed')).toBe(true)
    const { codes } = await c.burst(path, 20)
    expect(codes).toEqual(Array(20).fill('ok'))
  })

  it('Redis stopped mid-test: every replica falls back to its local breaker, nothing hangs; Redis back: the fleet resumes', async () => {
    const resetMs = 300
    const [a, b, c] = (await fleet(3, { quorum: 1, resetMs })) as [Replica, Replica, Replica]
    mock.setMode('down')
    for (let i = 0; i < 3; i++) await a.call(path)
    await vi.waitFor(() => expect([a, b, c].every(fleetOpened)).toBe(true))
    await redis.stop()
    mock.setMode('healthy')
    // Once the open period is over, B and C ask Redis for the probe lease, get no answer, and
    // serve on their local breakers (closed: they never failed). Every call settles.
    await vi.waitFor(
      async () => {
        const { codes } = await b.burst(path, 3)
        expect(codes).toEqual(['ok', 'ok', 'ok'])
      },
      { timeout: 5_000, interval: 50 },
    )
    const settled = await Promise.all([a, b, c].map((r) => r.burst(path, 5)))
    for (const { codes } of settled) {
      expect(codes.every((code) => code === 'ok' || code === 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    }
    expect(settled[2]?.codes).toEqual(Array(5).fill('ok'))

    await redis.restart()
    // A replica whose commands failed while Redis was away switched to local mode; its
    // connection probes Redis by itself and switches back to fleet mode.
    await vi.waitFor(
      () =>
        expect([a, b, c].map((r) => r.modes.at(-1) ?? 'fleet')).toEqual([
          'fleet',
          'fleet',
          'fleet',
        ]),
      { timeout: 10_000, interval: 50 },
    )
    expect(b.modes.slice(b.modes.lastIndexOf('local'))).toEqual(['local', 'fleet'])
    // Fleet mode again: C's failures on another operation open its circuit for A and B too.
    mock.setMode('down')
    for (let i = 0; i < 3; i++) await c.call('/getEvents')
    await vi.waitFor(() =>
      expect(
        [a, b].map((r) =>
          r.states.some(
            (s) => s.scope === 'fleet' && s.to === 'open' && s.operation === 'GET /getEvents',
          ),
        ),
      ).toEqual([true, true]),
    )
    expect(await b.call('/getEvents')).toMatchObject({ ok: false, code: 'UPSTREAM_CIRCUIT_OPEN' })
    expect(mock.calls('getEvents')).toBe(3)
  })
})

/** Counts the fleet's `open` publications on the test's own subscriber connection. */
async function fleetListener() {
  const connection = createRedisConnection({ url: redis.url })
  await connection.ready()
  const store = createRedisBreakerStore({ connection, namespace: 'fleet-test' })
  let opens = 0
  store.subscribe((event) => {
    if (event.type === 'state' && event.view.state === 'open') opens++
  })
  // The subscription is live once a message published now arrives (SUBSCRIBE has no reply the
  // caller can await here); only then does counting start.
  const channel = 'userevents:v2:fleet-test:cb:changes'
  let heard = 0
  const offProbe = connection.subscribe(channel, () => {
    heard++
  })
  await vi.waitFor(
    async () => {
      await admin.publish(channel, 'subscription check')
      expect(heard).toBeGreaterThan(0)
    },
    { timeout: 10_000, interval: 100 },
  )
  offProbe()
  return {
    opens: () => opens,
    close() {
      store.close()
      void connection.close()
    },
  }
}

async function closedPort(): Promise<number> {
  const { createServer } = await import('node:net')
  return new Promise((resolve) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
