import {
  createMockUpstream,
  generateUserWithEvents,
  type MockServerHandle,
  type MockUpstream,
} from '@userevents/mock-server'
import type { RateLimitStore } from '@userevents/upstream-client'
import { Cluster } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRedisConnection, createRedisRateLimitStore } from '../src/index.js'
import { breakerKeysOf, rateLimitKeyOf } from '../src/keys.js'
import { closeInChild } from './bundle.js'
import { type Replica, startReplica } from './fleet.js'
import { type PageReplica, spawnPageReplica } from './page-replica.js'
import { type RedisCluster, startRedisCluster } from './redis-cluster.js'

/**
 * Fleet mode on a real Redis Cluster (3 primaries + 3 replicas, test/redis-cluster.ts): replicas
 * in separate processes connect with `cluster` start-up nodes; the mock upstream counts reads.
 * Counts and states are asserted, never durations; the one time bound is the "fleet
 * mode again within 10 s of the promotion", used as a poll limit.
 */
let cluster: RedisCluster
let admin: Cluster
let mock: MockUpstream
let upstream: MockServerHandle
const pageReplicas: PageReplica[] = []
const breakerReplicas: Replica[] = []

/** Users for cold pages: a, b, c, d with 50 events each; u0…u29 with 20 each, for load. */
const bigUsers = ['a', 'b', 'c', 'd']
const loadUsers = Array.from({ length: 30 }, (_, i) => `u${i}`)

beforeAll(async () => {
  const data = [
    ...bigUsers.map((id, i) =>
      generateUserWithEvents(50, { userId: id, firstEventId: 1 + i * 50 }),
    ),
    ...loadUsers.map((id, i) =>
      generateUserWithEvents(20, { userId: id, firstEventId: 1_000 + i * 20 }),
    ),
  ]
  mock = createMockUpstream({
    mode: 'healthy',
    // Slow enough that the three replicas' requests for one page overlap.
    delays: { default: 0, getEventById: 20, getUserById: 20 },
    data: { users: data.flatMap((d) => d.users), events: data.flatMap((d) => d.events) },
  })
  upstream = await mock.listen()
  cluster = await startRedisCluster()
  admin = new Cluster(
    cluster.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
  )
  admin.on('error', () => {})
}, 60_000)
afterEach(async () => {
  for (const r of pageReplicas.splice(0)) r.kill()
  await Promise.all(breakerReplicas.splice(0).map((r) => r.close()))
  namespace++
})
afterAll(async () => {
  admin?.disconnect()
  await upstream?.close()
  await cluster?.stop()
})

let namespace = 0
const pages = (count: number, env: Record<string, string> = {}) =>
  Promise.all(
    Array.from({ length: count }, async () => {
      const replica = await spawnPageReplica({
        UPSTREAM_URL: upstream.url,
        REDIS_CLUSTER_NODES: cluster.urls.join(','),
        NAMESPACE: `cluster${process.pid}x${namespace}`,
        FLEET: 'on',
        ...env,
      })
      pageReplicas.push(replica)
      return replica
    }),
  )
const modeOf = async (r: PageReplica) => (await r.ask({ op: 'mode' })).mode
const full = { ok: true, items: 50, missing: 0 }

describe('fleet mode on a Redis Cluster (3 primaries, 3 replicas)', { timeout: 60_000 }, () => {
  it("accepts the caller's own ioredis Cluster: fleet mode, CLUSTER INFO as its health, left open by close()", async () => {
    const connection = createRedisConnection({ redis: admin, commandTimeoutMs: 1_000 })
    expect(connection.topology).toBe('cluster')
    expect(await connection.ready({ timeoutMs: 10_000 })).toBe('fleet')
    expect(await connection.run((r) => r.cluster('INFO'))).toMatch(/cluster_state:ok/)
    await connection.close()
    expect(connection.mode).toBe('local')
    expect(await admin.set('userevents-test:{k}', '1', 'PX', 1_000)).toBe('OK')
  })

  it('a process with a cluster connection exits as soon as close() resolved (300 ms bound)', async () => {
    const nodes = cluster.urls.join(',')
    for (const waitReady of ['0', '1']) {
      const outcome = await closeInChild({ REDIS_CLUSTER_NODES: nodes, WAIT_READY: waitReady }, 300)
      expect(outcome).toEqual({ ended: 'exited', closed: true, code: 0 })
    }
  })

  it('one cache and one single-flight for 3 replicas: a cold page read about once, a restarted replica warm', async () => {
    const [a, b, c] = (await pages(3)) as [PageReplica, PageReplica, PageReplica]
    for (const r of [a, b, c]) expect(await modeOf(r)).toBe('fleet')
    mock.resetCalls()
    const cold = await Promise.all([a, b, c].map((r) => r.ask({ op: 'page', userId: 'a' })))
    expect(cold).toEqual(Array(3).fill(full))
    // 50 events on three replicas: 150 without the shared tier; ≤ 55 with it (a lease on a slot
    // whose primary is briefly slow can let a waiter fetch by itself).
    expect(mock.calls('getEventById')).toBeGreaterThanOrEqual(50)
    expect(mock.calls('getEventById')).toBeLessThanOrEqual(55)

    a.kill()
    const [a2] = (await pages(1)) as [PageReplica]
    mock.resetCalls()
    expect(await a2.ask({ op: 'page', userId: 'a' })).toEqual(full)
    expect(mock.calls()).toMatchObject({ getEventById: 0, getUserById: 0 })
  })

  it('the fleet circuit opens on a quorum of replicas; a replica that never called fails fast with 0 upstream calls', async () => {
    const operation = 'GET /getUserById'
    const path = '/getUserById/1'
    const [a, b, c] = (await Promise.all(
      ['A', 'B', 'C'].map((id) =>
        startReplica(id, {
          redisUrl: 'redis://unused',
          clusterNodes: cluster.urls,
          upstream: upstream.url,
          quorum: 2,
        }),
      ),
    )) as [Replica, Replica, Replica]
    breakerReplicas.push(a, b, c)
    const opened = (r: Replica) =>
      r.states.some((s) => s.scope === 'fleet' && s.to === 'open' && s.operation === operation)
    // The circuit's keys share one hash tag: the admin client reads them on their slot's primary.
    const [, , failuresKey, replicasKey] = breakerKeysOf('fleet-test', 'events', operation)
    mock.setMode('down')
    mock.resetCalls()
    for (let i = 0; i < 3; i++) {
      expect(await a.call(path)).toMatchObject({ ok: false, code: 'UPSTREAM_HTTP_STATUS' })
    }
    await vi.waitFor(async () => {
      expect(await admin.zrange(replicasKey as string, 0, -1)).toEqual(['A'])
      expect(await admin.zcard(failuresKey as string)).toBe(3)
    })
    expect([a, b, c].some(opened)).toBe(false)
    expect(await b.call(path)).toMatchObject({ ok: false, code: 'UPSTREAM_HTTP_STATUS' })
    await vi.waitFor(() => expect(opened(c)).toBe(true))
    expect(await c.call(path)).toMatchObject({
      ok: false,
      code: 'UPSTREAM_CIRCUIT_OPEN',
      requests: 0,
    })
    expect(mock.calls('getUserById')).toBe(4)
    mock.setMode('healthy')
  })

  it('the rate-limit store on the cluster: two replicas share one bucket per hash tag, buckets spread over slots', async () => {
    const connections = [0, 1].map(() =>
      createRedisConnection({ cluster: [...cluster.urls], commandTimeoutMs: 1_000 }),
    )
    try {
      for (const c of connections) expect(await c.ready({ timeoutMs: 10_000 })).toBe('fleet')
      const ns = `quota${process.pid}x${namespace}`
      const [a, b] = connections.map((connection) =>
        createRedisRateLimitStore({ connection, namespace: ns }),
      ) as RateLimitStore[] as [RateLimitStore, RateLimitStore]
      const slow = { ratePerSecond: 0.001, burst: 4, maxWaitMs: 0 }
      const buckets = ['events', 'users', 'orders', 'billing', 'search', 'audit']
      for (const bucket of buckets) {
        const taken = []
        for (let i = 0; i < 4; i++)
          taken.push(await a.take(bucket, slow), await b.take(bucket, slow))
        expect(taken.filter((t) => t?.granted)).toHaveLength(4)
        expect(taken.filter((t) => t?.granted === false)).toHaveLength(4)
        expect(await admin.pttl(rateLimitKeyOf(ns, bucket))).toBeGreaterThan(0)
      }
      const slots = new Set(
        await Promise.all(
          buckets.map((bucket) => admin.cluster('KEYSLOT', rateLimitKeyOf(ns, bucket))),
        ),
      )
      expect(slots.size).toBeGreaterThan(1)
    } finally {
      await Promise.all(connections.map((c) => c.close()))
    }
  })

  it('a primary SIGKILLed mid-load: every page answered, fleet mode again within 10 s of the promotion, a cold page still single-flight', async () => {
    // Short leases and waits: a lease stranded on the dead primary (or copied to its replica)
    // must not hold the waiters longer than the test needs; each answer still comes in time.
    const replicas = await pages(3, { LEASE_MS: '3000', WAIT_MS: '2000' })
    for (const r of replicas) expect(await modeOf(r)).toBe('fleet')
    const answers: Array<Record<string, unknown>> = []
    let loading = true
    const load = replicas.map(async (r, i) => {
      for (let n = i * 10; loading; n++) {
        answers.push(await r.ask({ op: 'page', userId: loadUsers[n % loadUsers.length] }))
      }
    })
    await vi.waitFor(() => expect(answers.length).toBeGreaterThanOrEqual(3), { timeout: 20_000 })
    const [victim] = await cluster.primaries()
    if (victim?.replicaPort === undefined) throw new Error('no primary with a replica')
    cluster.kill(victim.port)
    await cluster.waitForPromotion(victim.replicaPort, 30_000)
    // Fleet mode again, by itself, within 10 s of the promotion (a poll limit, not a measurement).
    await vi.waitFor(
      async () =>
        expect(await Promise.all(replicas.map(modeOf))).toEqual(['fleet', 'fleet', 'fleet']),
      { timeout: 10_000, interval: 100 },
    )
    loading = false
    await Promise.all(load)
    // Every page asked before, during and after the failover was answered in full (in time: the
    // replica's 25 s deadline would have turned a late one into an error).
    expect(answers.length).toBeGreaterThan(3)
    expect(answers.filter((x) => x.ok !== true || x.items !== 20)).toEqual([])

    mock.resetCalls()
    const cold = await Promise.all(replicas.map((r) => r.ask({ op: 'page', userId: 'b' })))
    expect(cold).toEqual(Array(3).fill(full))
    expect(mock.calls('getEventById')).toBeGreaterThanOrEqual(50)
    expect(mock.calls('getEventById')).toBeLessThanOrEqual(55)
  })
})
