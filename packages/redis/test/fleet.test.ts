import {
  createMockUpstream,
  generateUserWithEvents,
  type MockServerHandle,
  type MockUpstream,
} from '@userevents/mock-server'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type PageReplica, spawnPageReplica } from './page-replica.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

/**
 * Three replicas in three processes (test/fixtures/replica.ts), one real redis-server, one real
 * mock upstream counting its reads. Counts and states are asserted, never durations.
 */
let redis: RedisServer
let mock: MockUpstream
let upstream: MockServerHandle
const replicas: PageReplica[] = []

beforeAll(async () => {
  const users = ['a', 'b', 'c', 'd'].map((id, i) =>
    generateUserWithEvents(50, { userId: id, firstEventId: 1 + i * 50 }),
  )
  mock = createMockUpstream({
    mode: 'healthy',
    // Slow enough that the three replicas' requests for one page overlap.
    delays: { default: 0, getEventById: 20, getUserById: 20 },
    data: { users: users.flatMap((d) => d.users), events: users.flatMap((d) => d.events) },
  })
  upstream = await mock.listen()
  redis = await startRedisServer()
})
afterEach(() => {
  for (const r of replicas.splice(0)) r.kill()
  // Each test's replicas share a fresh namespace: nothing cached by an earlier test.
  namespace++
})
afterAll(async () => {
  await upstream?.close()
  await redis?.stop()
})

describe('fleet mode with 3 replicas in separate processes', () => {
  it('one cache and one single-flight for the fleet; warm restarts; Redis down and back', {
    timeout: 60_000,
  }, async () => {
    const [a, b, c] = await Promise.all([spawn('fleet'), spawn('fleet'), spawn('fleet')])

    // A cold page of 50 asked on all three at once: read once from the upstream, not 3 times.
    mock.resetCalls()
    for (const r of [a, b, c])
      expect(await r!.ask({ op: 'mode' })).toEqual({ ok: true, mode: 'fleet' })
    const cold = await Promise.all([a, b, c].map((r) => r!.ask({ op: 'page', userId: 'a' })))
    expect(cold).toEqual(Array(3).fill({ ok: true, items: 50, missing: 0 }))
    expect(mock.calls('getEventById')).toBe(50)
    expect(mock.calls('getUserById')).toBe(1)

    // The client's coalesced GETs share the fleet's single-flight too.
    mock.resetCalls()
    const users = await Promise.all([a, b, c].map((r) => r!.ask({ op: 'user', userId: 'b' })))
    expect(users).toEqual(Array(3).fill({ ok: true, user: 'b' }))
    expect(mock.calls('getUserById')).toBe(1)

    // A restarted replica starts warm: the page comes from Redis, 0 upstream reads.
    a!.kill()
    const a2 = await spawn('fleet')
    mock.resetCalls()
    expect(await a2.ask({ op: 'page', userId: 'a' })).toEqual({ ok: true, items: 50, missing: 0 })
    expect(mock.calls()).toMatchObject({ getEventById: 0, getUserById: 0 })

    // Redis stops: every call is still answered within its deadline, from local state.
    await redis.stop()
    const down = await Promise.all(
      [a2, b, c].flatMap((r) => [
        r!.ask({ op: 'page', userId: 'c' }),
        r!.ask({ op: 'page', userId: 'a', limit: 10 }),
      ]),
    )
    expect(down).toEqual(
      Array(3)
        .fill([
          { ok: true, items: 50, missing: 0 },
          { ok: true, items: 10, missing: 0 },
        ])
        .flat(),
    )
    for (const r of [a2, b, c])
      expect(await r!.ask({ op: 'mode' })).toEqual({ ok: true, mode: 'local' })

    // Redis is back (empty): every replica returns to fleet mode by itself, and a cold page is
    // read once for the fleet again.
    await redis.restart()
    for (const r of [a2, b, c])
      await until(async () => (await r!.ask({ op: 'mode' })).mode === 'fleet')
    mock.resetCalls()
    const again = await Promise.all([a2, b, c].map((r) => r!.ask({ op: 'page', userId: 'd' })))
    expect(again).toEqual(Array(3).fill({ ok: true, items: 50, missing: 0 }))
    expect(mock.calls('getEventById')).toBe(50)
  })

  it('without fleet mode, the same cold page costs 3 × the page', { timeout: 60_000 }, async () => {
    const fleet = await Promise.all([spawn('off'), spawn('off'), spawn('off')])
    mock.resetCalls()
    const pages = await Promise.all(fleet.map((r) => r.ask({ op: 'page', userId: 'b' })))
    expect(pages).toEqual(Array(3).fill({ ok: true, items: 50, missing: 0 }))
    expect(mock.calls('getEventById')).toBe(150)
  })
})

// Private helpers below.

let namespace = 0
const namespaceOf = () => `fleet${process.pid}x${namespace}`

async function spawn(mode: 'fleet' | 'off'): Promise<PageReplica> {
  const replica = await spawnPageReplica({
    UPSTREAM_URL: upstream.url,
    REDIS_URL: redis.url,
    NAMESPACE: namespaceOf(),
    FLEET: mode,
  })
  replicas.push(replica)
  return replica
}

/** Polls `check` every 20 ms, failing after 5 s (the condition is a state, not a duration). */
async function until(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s')
    await new Promise((r) => setTimeout(r, 20))
  }
}
