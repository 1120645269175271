import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createUpstreamClient, type UpstreamClient } from '@userevents/upstream-client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisStore, type RedisStore } from '../src/index.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

// The client's RFC 9111 cache on three replicas sharing one real redis-server: an expired entry
// with an ETag costs one conditional request (answered 304) for the whole fleet.

let redis: RedisServer
let upstream: Server
let origin: string
const seen: { ifNoneMatch: string | undefined; status: number }[] = []
const open: { stores: RedisStore[]; clients: UpstreamClient[] } = { stores: [], clients: [] }

beforeAll(async () => {
  redis = await startRedisServer()
  upstream = createServer((req, res) => {
    const ifNoneMatch = req.headers['if-none-match']
    const headers = { etag: '"page-1"', 'cache-control': 'max-age=60' }
    if (ifNoneMatch === '"page-1"') {
      seen.push({ ifNoneMatch, status: 304 })
      res.writeHead(304, headers)
      res.end()
      return
    }
    seen.push({ ifNoneMatch, status: 200 })
    const body = JSON.stringify({ events: [1, 2, 3] })
    res.writeHead(200, { ...headers, 'content-type': 'application/json' })
    res.end(body)
  })
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`
})
afterAll(async () => {
  upstream.closeAllConnections()
  await new Promise((resolve) => upstream.close(resolve))
  await redis.stop()
})
afterEach(async () => {
  await Promise.all(open.clients.splice(0).map((c) => c.close()))
  await Promise.all(open.stores.splice(0).map((s) => s.close()))
})

/** One replica: its own Redis connections and its own client (and local cache). */
async function replica(): Promise<UpstreamClient> {
  const store = createRedisStore({ url: redis.url, namespace: 'fleet-http' })
  open.stores.push(store)
  await store.connection.ready({ timeoutMs: 10_000 })
  // ttlMs caps the answer's max-age=60: entries expire after 400 ms of real time, locally and
  // in Redis.
  const client = createUpstreamClient({ baseUrl: origin, cache: { ttlMs: 400 }, store })
  open.clients.push(client)
  return client
}

describe('RFC 9111 cache with the shared tier', () => {
  it('revalidates an expired entry once for three replicas (one 304)', async () => {
    const fleet = [await replica(), await replica(), await replica()]
    const outcomes: string[] = []
    for (const client of fleet) client.onCallEnd((e) => outcomes.push(e.outcome))
    const first = await Promise.all(fleet.map((client) => client.get('/page')))
    expect(first).toEqual([{ events: [1, 2, 3] }, { events: [1, 2, 3] }, { events: [1, 2, 3] }])
    expect(seen).toEqual([{ ifNoneMatch: undefined, status: 200 }])
    expect(outcomes.sort()).toEqual(['store', 'store', 'upstream'])

    await new Promise((resolve) => setTimeout(resolve, 500))
    outcomes.length = 0
    const again = await Promise.all(fleet.map((client) => client.get('/page')))
    expect(again).toEqual([{ events: [1, 2, 3] }, { events: [1, 2, 3] }, { events: [1, 2, 3] }])
    expect(seen).toEqual([
      { ifNoneMatch: undefined, status: 200 },
      { ifNoneMatch: '"page-1"', status: 304 },
    ])
    expect(outcomes.sort()).toEqual(['revalidated', 'store', 'store'])
  })
})
