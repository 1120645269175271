import { afterAll, beforeAll, describe, expect, it } from 'vitest'
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

async function ready(stack: TestStack) {
  const res = await stack.service.app.inject({ url: '/readyz' })
  return res.json() as { status: string; redis?: { mode: string } }
}

/** Polls `check` every 20 ms, failing after 5 s (a state, not a duration). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}
