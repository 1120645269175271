import http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createUpstreamClient,
  isRateLimitStore,
  isUpstreamErrorCode,
  type RateLimitTakeOptions,
} from '@userevents/upstream-client'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createRedisConnection,
  createRedisRateLimitStore,
  type RedisConnection,
} from '../src/index.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

// The Redis rate-limit store against a real redis-server: one bucket shared by two replicas'
// connections, reservations, pauses, TTLs, and the fallback to the local bucket when Redis stops.

let server: RedisServer
let admin: Redis
const connections: RedisConnection[] = []
beforeAll(async () => {
  server = await startRedisServer()
  admin = new Redis(server.url)
  // The test stops Redis on purpose; the admin client just reconnects.
  admin.on('error', () => {})
})
afterAll(async () => {
  admin.disconnect()
  await server.stop()
})
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.close()))
  if (server.pid === undefined) await server.restart()
  await admin.flushall()
})

/** A replica's store on its own connection. */
async function replica() {
  const connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1_000 })
  connections.push(connection)
  await connection.ready()
  return createRedisRateLimitStore({ connection, namespace: 'rl' })
}

// A rate so slow that no token refills while a test runs: counts, not timings, decide.
const slow: RateLimitTakeOptions = { ratePerSecond: 0.001, burst: 5, maxWaitMs: 0 }

describe('createRedisRateLimitStore against a real redis-server', () => {
  it('is a branded RateLimitStore; bad options name the option', async () => {
    const store = await replica()
    expect(isRateLimitStore(store)).toBe(true)
    const connection = connections[0] as RedisConnection
    expect(() => createRedisRateLimitStore({ connection, namespace: 'a b' })).toThrow('`namespace`')
    expect(() =>
      createRedisRateLimitStore({ connection, namespace: 'x', extra: 1 } as never),
    ).toThrow('Unknown option `extra`')
    expect(() => createRedisRateLimitStore({ connection: {} as never, namespace: 'x' })).toThrow(
      '`connection`',
    )
  })

  it('two replicas share one bucket: exactly `burst` tokens between them', async () => {
    const a = await replica()
    const b = await replica()
    const results = []
    for (let i = 0; i < 6; i++) {
      results.push(await a.take('events', slow), await b.take('events', slow))
    }
    expect(results.filter((r) => r?.granted)).toHaveLength(5)
    expect(results.filter((r) => r?.granted === false)).toHaveLength(7)
    // Another bucket is another quota.
    expect((await a.take('other', slow))?.granted).toBe(true)
    const keys = (await admin.keys('*')).sort()
    expect(keys).toEqual(['userevents:v2:{rl:events}:rl', 'userevents:v2:{rl:other}:rl'])
    for (const key of keys) expect(await admin.pttl(key)).toBeGreaterThan(0)
  })

  it('reserves the next token for a caller that can wait, and refuses one that cannot', async () => {
    const store = await replica()
    const shape = { ratePerSecond: 10, burst: 1 }
    expect(await store.take('b', { ...shape, maxWaitMs: 0 })).toEqual({ granted: true, waitMs: 0 })
    const reserved = await store.take('b', { ...shape, maxWaitMs: 60_000 })
    expect(reserved?.granted).toBe(true)
    expect(reserved?.waitMs).toBeGreaterThan(0)
    // Behind the reservation, the next token is further away still.
    const refused = await store.take('b', { ...shape, maxWaitMs: 0 })
    expect(refused?.granted).toBe(false)
    expect(refused?.waitMs).toBeGreaterThan(reserved?.waitMs ?? 0)
  })

  it('a pause holds every token back for every replica', async () => {
    const a = await replica()
    const b = await replica()
    expect((await b.take('p', slow))?.granted).toBe(true)
    await a.pause('p', 60_000, slow)
    const refused = await b.take('p', { ...slow, ratePerSecond: 1000 })
    expect(refused?.granted).toBe(false)
    expect(refused?.waitMs).toBeGreaterThan(50_000)
    expect(await admin.pttl('userevents:v2:{rl:p}:rl')).toBeGreaterThan(60_000)
  })

  it('Redis stopped mid-test: the store answers undefined and the client paces locally at rate / replicas', async () => {
    let requests = 0
    const upstream = http.createServer((_req, res) => {
      requests++
      res.setHeader('content-type', 'application/json')
      res.end('{}')
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const store = await replica()
    const client = createUpstreamClient({
      baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      deadlineMs: 150,
      retry: false,
      rateLimit: { requestsPerSecond: 30, burst: 1, replicas: 3, store },
    })
    try {
      await client.get('/fleet')
      expect(store.available).toBe(true)
      await server.stop()
      expect(await store.take('x', slow)).toBeUndefined()
      expect(store.available).toBe(false)
      // 10/s locally, burst 1: the first call goes, the second waits ~100 ms for its token, the
      // third would wait ~200 ms, past its 150 ms deadline, so it fails fast.
      const outcomes = await Promise.allSettled([
        client.get('/1'),
        client.get('/2'),
        client.get('/3'),
      ])
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected'])
      const third = outcomes[2] as PromiseRejectedResult
      expect(isUpstreamErrorCode(third.reason, 'UPSTREAM_RATE_LIMITED')).toBe(true)
      expect(requests).toBe(3)
    } finally {
      await client.close()
      await new Promise<void>((resolve) => upstream.close(() => resolve()))
    }
  })
})
