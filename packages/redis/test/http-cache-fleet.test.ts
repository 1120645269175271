import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type CallOutcome,
  createUpstreamClient,
  type UpstreamClient,
} from '@userevents/upstream-client'
import { Cluster, Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore, type RedisStore } from '../src/index.js'
import { keysOf } from '../src/keys.js'
import { type RedisCluster, startRedisCluster } from './redis-cluster.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

// The client's RFC 9111 cache on replicas (clients with their own local caches) sharing one real
// redis-server, or a real Redis Cluster: an expired entry with an ETag costs one conditional
// request (answered 304) for the whole fleet, a replica that never had the entry included,
// because the store keeps it past its freshness (contract v2). Windows are scaled to ms: the
// cache's ttlMs (300) caps the answer's max-age=60, so an entry is fresh 300 ms and, with its
// ETag, kept 300 ms more.

const ttlMs = 300
const body = { events: [1, 2, 3] }
let upstream: Server
let origin: string
const seen: Array<{ path: string; ifNoneMatch: string | undefined; status: number }> = []

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const ifNoneMatch = req.headers['if-none-match']
    const path = req.url ?? ''
    if (path === '/private') {
      seen.push({ path, ifNoneMatch, status: 200 })
      res.writeHead(200, { 'cache-control': 'no-store', 'content-type': 'application/json' })
      res.end(JSON.stringify(body))
      return
    }
    const headers = { etag: '"page-1"', 'cache-control': 'max-age=60' }
    if (ifNoneMatch === '"page-1"') {
      seen.push({ path, ifNoneMatch, status: 304 })
      res.writeHead(304, headers)
      res.end()
      return
    }
    seen.push({ path, ifNoneMatch, status: 200 })
    res.writeHead(200, { ...headers, 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})
afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((resolve) => upstream.close(resolve))
})

/** Where the replicas' store lives, and an admin connection to look at its keys. */
interface Target {
  options(): { url: string } | { cluster: string[] }
  admin: Redis | Cluster
}

let namespace = 0
const open: { stores: RedisStore[]; clients: UpstreamClient[] } = { stores: [], clients: [] }
afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.close()))
  await Promise.all(open.stores.splice(0).map((s) => s.close()))
  seen.length = 0
  namespace++
})

/** One replica: its own Redis connections, its own client and local cache. */
async function replica(target: Target, outcomes: CallOutcome[] = [], connected = true) {
  const store = createRedisStore({
    ...target.options(),
    namespace: `fleet-http${namespace}`,
    breaker: { resetTimeoutMs: 50, volumeThreshold: 1 },
  })
  open.stores.push(store)
  if (connected) await store.connection.ready({ timeoutMs: 10_000 })
  const client = createUpstreamClient({ baseUrl: origin, cache: { ttlMs }, store, retry: false })
  open.clients.push(client)
  client.onCallEnd((e) => outcomes.push(e.outcome))
  return { client, store }
}

/** The Redis key of a path's shared entry. */
const keyOf = (path: string) => keysOf(`fleet-http${namespace}`, `http:${origin}:${path}`).value
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The tests that hold on one node and on a cluster alike. */
function fleetSuite(target: () => Target) {
  it('revalidates an expired entry once for three replicas (one 304)', async () => {
    const outcomes: CallOutcome[] = []
    const fleet = [
      await replica(target(), outcomes),
      await replica(target(), outcomes),
      await replica(target(), outcomes),
    ]
    const first = await Promise.all(fleet.map(({ client }) => client.get('/page')))
    expect(first).toEqual([body, body, body])
    expect(seen).toEqual([{ path: '/page', ifNoneMatch: undefined, status: 200 }])
    expect(outcomes.sort()).toEqual(['store', 'store', 'upstream'])

    await sleep(ttlMs + 50)
    outcomes.length = 0
    const again = await Promise.all(fleet.map(({ client }) => client.get('/page')))
    expect(again).toEqual([body, body, body])
    expect(seen).toEqual([
      { path: '/page', ifNoneMatch: undefined, status: 200 },
      { path: '/page', ifNoneMatch: '"page-1"', status: 304 },
    ])
    expect(outcomes.sort()).toEqual(['revalidated', 'store', 'store'])
    expect(fleet.reduce((sum, { store }) => sum + store.stats.revalidations, 0)).toBe(1)
  })

  it('keeps the entry past its freshness (PTTL = keepMs), so a restarted replica revalidates it with one conditional request', async () => {
    const fleet = [await replica(target()), await replica(target()), await replica(target())]
    await Promise.all(fleet.map(({ client }) => client.get('/page')))
    // Fresh for 300 ms of Redis time, kept 300 ms more for its ETag.
    const pttl = await target().admin.pttl(keyOf('/page'))
    expect(pttl).toBeGreaterThan(ttlMs)
    expect(pttl).toBeLessThanOrEqual(2 * ttlMs)

    // A replica that never had a local entry (restarted), connected before the entry goes
    // stale so that its connecting does not eat into the 300 ms it is kept past freshness.
    const outcomes: CallOutcome[] = []
    const restarted = await replica(target(), outcomes)
    await sleep(ttlMs + 50)
    // It finds the stale shared entry.
    expect(await restarted.client.get('/page')).toEqual(body)
    expect(outcomes).toEqual(['revalidated'])
    expect(restarted.store.stats).toMatchObject({ fetches: 1, revalidations: 1 })
    // The 304 refreshed the shared entry for everyone: the others, expired locally, hit it.
    const others: CallOutcome[] = []
    for (const { client } of fleet) client.onCallEnd((e) => others.push(e.outcome))
    expect(await Promise.all(fleet.map(({ client }) => client.get('/page')))).toEqual([
      body,
      body,
      body,
    ])
    expect(others).toEqual(['store', 'store', 'store'])
    expect(seen.map((s) => s.status)).toEqual([200, 304])
    expect(seen[1]?.ifNoneMatch).toBe('"page-1"')
    expect(await target().admin.pttl(keyOf('/page'))).toBeGreaterThan(ttlMs)
  })
}

describe('RFC 9111 cache with the shared tier on a redis-server', () => {
  let redis: RedisServer
  let admin: Redis
  const target = (): Target => ({ options: () => ({ url: redis.url }), admin })
  beforeAll(async () => {
    redis = await startRedisServer()
    admin = new Redis(redis.url)
    admin.on('error', () => {})
  })
  afterAll(async () => {
    admin.disconnect()
    await redis.stop()
  })
  afterEach(async () => {
    if (redis.pid === undefined) await redis.restart()
  })

  fleetSuite(target)

  it('leaves no Redis key for a no-store answer; each replica fetches its own', async () => {
    const fleet = [await replica(target()), await replica(target()), await replica(target())]
    const answers = await Promise.all(fleet.map(({ client }) => client.get('/private')))
    expect(answers).toEqual([body, body, body])
    expect(await admin.exists(keyOf('/private'))).toBe(0)
    expect(seen.filter((s) => s.path === '/private')).toHaveLength(3)
    expect(fleet.reduce((sum, { store }) => sum + store.stats.notStored, 0)).toBeGreaterThan(0)
  })

  it('degrades when Redis stops mid-test: every replica still answers, from its own fetch', async () => {
    const a = await replica(target())
    expect(await a.client.get('/page')).toEqual(body)
    await redis.stop()
    await sleep(ttlMs + 50)
    // A replica started during the outage: it never reaches Redis.
    const restarted = await replica(target(), [], false)
    // Revalidated alone with its own local entry's ETag (304), no store involved.
    expect(await a.client.get('/page')).toEqual(body)
    expect(await restarted.client.get('/page')).toEqual(body)
    expect(seen.map((s) => s.status)).toEqual([200, 304, 200])
    expect(restarted.store.mode).toBe('local')
    expect(a.store.stats.local + restarted.store.stats.local).toBe(2)
  })
})

describe('RFC 9111 cache with the shared tier on a Redis Cluster', () => {
  let cluster: RedisCluster
  let admin: Cluster
  const target = (): Target => ({ options: () => ({ cluster: [...cluster.urls] }), admin })
  beforeAll(async () => {
    cluster = await startRedisCluster()
    admin = new Cluster(
      cluster.urls.map((url) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })),
    )
    admin.on('error', () => {})
  }, 60_000)
  afterAll(async () => {
    admin.disconnect()
    await cluster?.stop()
  })

  fleetSuite(target)
})
