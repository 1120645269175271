import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisCluster, startRedisCluster } from '../../../packages/redis/test/redis-cluster.js'
import { type RedisServer, startRedisServer } from '../../../packages/redis/test/redis-server.js'
import { dataWithBigUser, startStack, type TestStack } from './helpers.js'

/** `REDIS_URL` (config `redisUrl`) turns fleet mode on; a real redis-server, started here. */
describe('fleet mode (REDIS_URL)', () => {
  let redis: RedisServer
  const stacks: TestStack[] = []
  beforeAll(async () => {
    redis = await startRedisServer()
  })
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()))
    await redis.stop()
  })

  it('shares the cache between replicas; Redis away is degraded, not down, and comes back', async () => {
    const a = await startStack({
      mock: { data: dataWithBigUser(20) },
      config: { redisUrl: redis.url },
    })
    stacks.push(a)
    // A second replica on the same upstream (a's mock) and the same Redis.
    const b = await startStack({
      config: { redisUrl: redis.url, upstreamBase: a.service.upstreamUrl },
    })
    stacks.push(b)
    await until(async () => (await ready(a)).redis?.mode === 'fleet')
    expect(await ready(a)).toEqual({
      status: 'ready',
      upstream: { name: 'events', circuit: 'closed' },
      redis: { mode: 'fleet' },
    })

    expect((await a.service.app.inject({ url: '/metrics' })).body).toMatch(/^fleet_mode 1$/m)

    const first = await a.service.app.inject({ url: '/getEventsByUserId/9?limit=20' })
    expect(first.statusCode).toBe(200)
    expect(a.mock.calls('getEventById')).toBe(20)
    // Replica b never saw the page: it is served from Redis, 0 upstream event reads.
    const second = await b.service.app.inject({ url: '/getEventsByUserId/9?limit=20' })
    expect(second.json()).toEqual(first.json())
    expect(a.mock.calls('getEventById')).toBe(20)

    await redis.stop()
    await until(async () => (await ready(b)).status === 'degraded')
    expect(await ready(b)).toMatchObject({ status: 'degraded', redis: { mode: 'local' } })
    expect((await b.service.app.inject({ url: '/metrics' })).body).toMatch(/^fleet_mode 0$/m)
    // Still answering, from local state.
    const local = await b.service.app.inject({ url: '/getEventsByUserId/9?limit=20' })
    expect(local.statusCode).toBe(200)

    await redis.restart()
    await until(async () => (await ready(b)).status === 'ready')
    expect((await ready(b)).redis).toEqual({ mode: 'fleet' })
  })
})

/**
 * `REDIS_CLUSTER_NODES` (config `redisClusterNodes`): the same fleet on a real Redis Cluster
 * (3 primaries + 3 replicas, started here): 3 replicas share one cold page, a restarted replica
 * starts warm, and a replica that never called a dead upstream fails fast with 0 calls.
 */
describe('fleet mode on a Redis Cluster (REDIS_CLUSTER_NODES)', { timeout: 60_000 }, () => {
  let cluster: RedisCluster
  const stacks: TestStack[] = []
  beforeAll(async () => {
    cluster = await startRedisCluster()
  }, 60_000)
  afterAll(async () => {
    await Promise.all(stacks.map((s) => s.close()))
    await cluster?.stop()
  })

  it('3 replicas: a cold page read about once, a restarted replica warm, a replica that never called fails fast', async () => {
    const nodes = cluster.urls.map((u) => u.replace('redis://', ''))
    const config = {
      redisClusterNodes: nodes,
      redisCommandTimeoutMs: 1_000,
      listCacheTtlMs: 0,
      upstream: { retries: 0, timeoutMs: 5_000, deadlineMs: 10_000 },
      breaker: { failureThreshold: 3 },
    }
    const a = await startStack({
      // Slow enough that the three replicas' reads of one page overlap.
      mock: { data: dataWithBigUser(50), delays: { default: 0, getEventById: 20 } },
      config,
    })
    stacks.push(a)
    const more = () => startStack({ config: { ...config, upstreamBase: a.service.upstreamUrl } })
    const b = await more()
    let c = await more()
    stacks.push(b, c)
    for (const s of [a, b, c]) await until(async () => (await ready(s)).redis?.mode === 'fleet')
    expect(await ready(c)).toEqual({
      status: 'ready',
      upstream: { name: 'events', circuit: 'closed' },
      redis: { mode: 'fleet' },
    })

    const page = '/getEventsByUserId/9?limit=50'
    a.mock.resetCalls()
    const cold = await Promise.all([a, b, c].map((s) => s.service.app.inject({ url: page })))
    expect(cold.map((r) => r.statusCode)).toEqual([200, 200, 200])
    expect(a.mock.calls('getEventById')).toBeGreaterThanOrEqual(50)
    expect(a.mock.calls('getEventById')).toBeLessThanOrEqual(55)

    await c.close()
    c = await more()
    stacks.push(c)
    await until(async () => (await ready(c)).redis?.mode === 'fleet')
    a.mock.resetCalls()
    expect((await c.service.app.inject({ url: page })).statusCode).toBe(200)
    expect(a.mock.calls('getEventById')).toBe(0)

    // The upstream dies: A and B fail (quorum 2), the fleet circuit opens, and C, which never
    // called the dead upstream, answers 503 without calling it.
    const heard: string[] = []
    c.service.app.upstream.onStateChange((e) => {
      heard.push(`${e.scope}:${e.operation}:${e.to}`)
    })
    a.mock.setMode('down')
    a.mock.resetCalls()
    for (const s of [a, a, a, b]) {
      expect((await s.service.app.inject({ url: '/getUsers' })).statusCode).toBeGreaterThanOrEqual(
        500,
      )
    }
    // C hears the fleet's opening over pub/sub, before it ever called the operation.
    await until(async () => heard.includes('fleet:getUsers:open'))
    const callsBefore = a.mock.calls('getUsers')
    const failFast = await c.service.app.inject({ url: '/getUsers' })
    expect(failFast.statusCode).toBe(503)
    expect(a.mock.calls('getUsers')).toBe(callsBefore)
  })
})

async function ready(stack: TestStack) {
  const res = await stack.service.app.inject({ url: '/readyz' })
  return res.json() as {
    status: string
    upstream?: { circuit: string }
    redis?: { mode: string }
  }
}

/** Polls `check` every 20 ms, failing after 5 s (a state, not a duration). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}
