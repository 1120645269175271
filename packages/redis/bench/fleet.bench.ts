// Fleet-mode benchmark, one run, real parts: a redis-server started here on a free port and a
// Redis Cluster (3 primaries + 3 replicas, test/redis-cluster.ts), the mock upstream on a loopback
// port, real clients and aggregators. The Redis-dependent figures are measured on both, in the
// same run. Prints the machine load too: figures from a shared machine are only comparable
// within one run.
//
//   npx -y pnpm@10 --filter @userevents/redis bench
import { loadavg } from 'node:os'
import { createEventAggregator } from '@userevents/event-aggregator'
import { createMockUpstream, generateUserWithEvents } from '@userevents/mock-server'
import { createRedisStore, type RedisStore } from '@userevents/redis'
import { createUpstreamClient } from '@userevents/upstream-client'
import { startRedisCluster } from '../test/redis-cluster.js'
import { startRedisServer } from '../test/redis-server.js'

const redis = await startRedisServer()
const cluster = await startRedisCluster()
type Target = { url: string } | { cluster: string[] }
const single: Target = { url: redis.url }
const onCluster: Target = { cluster: [...cluster.urls] }
const stores: RedisStore[] = []
const store = async (namespace: string, target: Target = single) => {
  // The bench measures the path, not the fail-fast: a generous timeout keeps a loaded machine
  // from sending iterations to the local path (which would flatter the figures).
  const s = createRedisStore({ ...target, namespace, commandTimeoutMs: 1_000 })
  stores.push(s)
  if ((await s.connection.ready({ timeoutMs: 10_000 })) !== 'fleet') {
    throw new Error(`store ${namespace} not in fleet mode`)
  }
  return s
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const us = (ms: number) => `${(ms * 1000).toFixed(1)} µs`
const time = async (n: number, fn: (i: number) => Promise<unknown> | unknown) => {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    await fn(i)
    samples.push(performance.now() - t0)
  }
  return samples
}

const { events } = generateUserWithEvents(1, { userId: 'x' })
const event = events[0]!
const page = generateUserWithEvents(50, { userId: 'p' }).events

// 1. Serialisation of what is stored: one event, one page of 50.
const ser1 = await time(20_000, () => JSON.parse(JSON.stringify(event)))
const ser50 = await time(2_000, () => JSON.parse(JSON.stringify(page)))

// 2. L1 hit (the client's in-process cache) against L2 hit (Redis round trip + parse), same value.
const mock = createMockUpstream({
  mode: 'healthy',
  delays: 0,
  data: generateUserWithEvents(50, { userId: 'u' }),
})
const upstream = await mock.listen()
const l2 = await store('bench-l2')
const client = createUpstreamClient({
  baseUrl: upstream.url,
  retry: false,
  breaker: false,
  cache: { ttlMs: 600_000 },
  store: l2,
})
await client.get('/getEventById/1')
for (let i = 0; i < 2_000; i++) await client.get('/getEventById/1') // warm-up
const l1 = await time(20_000, () => client.get('/getEventById/1'))
/** An L2 hit: one store's load of a stored value (Redis round trip + parse). */
const l2Hits = async (s: RedisStore) => {
  await s.set('event', event, { freshMs: 600_000 })
  const fetch = async () => ({ value: event, freshMs: 600_000 })
  for (let i = 0; i < 500; i++) await s.load('event', fetch)
  return time(5_000, () => s.load('event', fetch))
}
const l2hit = await l2Hits(l2)
const l2hitCluster = await l2Hits(await store('bench-l2', onCluster))

// 3. Single-flight wait overhead: replica B asks while replica A fetches (20 ms); B's answer
//    comes after A's by the announcement + one read. Overhead = B done − A done.
const singleFlight = async (target: Target) => {
  const [a, b] = [await store('bench-sf', target), await store('bench-sf', target)]
  const overhead: number[] = []
  for (let i = 0; i < 300; i++) {
    const key = `sf${i}`
    let aDone = 0
    const fetch = () =>
      new Promise<{ value: unknown; freshMs: number }>((r) =>
        setTimeout(() => r({ value: event, freshMs: 60_000 }), 20),
      )
    const pa = a.load(key, fetch).then(() => {
      aDone = performance.now()
    })
    await new Promise((r) => setTimeout(r, 2))
    const pb = b.load(key, fetch).then((r) => {
      if (r.source !== 'store') throw new Error(`expected B to wait for A, got ${r.source}`)
      return performance.now()
    })
    const [, bDone] = await Promise.all([pa, pb])
    overhead.push(bDone - aDone)
  }
  return overhead
}
const overhead = await singleFlight(single)
const overheadCluster = await singleFlight(onCluster)

// 4. A cold page of 50 asked on 3 replicas at once: upstream reads with fleet mode on vs off.
const coldReads = async (fleet: boolean, round: number, target: Target = single) => {
  const data = generateUserWithEvents(50, { userId: 'cold' })
  const m = createMockUpstream({
    mode: 'healthy',
    delays: { default: 0, getEventById: 20, getUserById: 20 },
    data,
  })
  const server = await m.listen()
  const replicas = await Promise.all(
    [1, 2, 3].map(async () => {
      const c = createUpstreamClient({ baseUrl: server.url, retry: false, breaker: false })
      const s = fleet ? await store(`bench-cold-${round}`, target) : undefined
      return { c, aggregator: createEventAggregator({ client: c, ...(s ? { store: s } : {}) }) }
    }),
  )
  const t0 = performance.now()
  await Promise.all(replicas.map((r) => r.aggregator.getEventsByUserId('cold')))
  const ms = performance.now() - t0
  const reads = m.calls('getEventById')
  await Promise.all(replicas.map((r) => r.c.close()))
  await server.close()
  return { reads, ms }
}
const off = await coldReads(false, 0)
const on = await coldReads(true, 0)
const onClusterCold = await coldReads(true, 1, onCluster)

console.log(
  `machine: loadavg ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}, ${process.version}`,
)
console.log('| measure | p50 | p99 |')
console.log('| --- | --- | --- |')
console.log(`| JSON round trip, 1 event | ${us(pct(ser1, 50))} | ${us(pct(ser1, 99))} |`)
console.log(
  `| JSON round trip, page of 50 events | ${us(pct(ser50, 50))} | ${us(pct(ser50, 99))} |`,
)
console.log(`| L1 hit (client.get, in-process cache) | ${us(pct(l1, 50))} | ${us(pct(l1, 99))} |`)
console.log(
  `| L2 hit (store.load, Redis round trip) | ${us(pct(l2hit, 50))} | ${us(pct(l2hit, 99))} |`,
)
console.log(
  `| L2 hit / L1 hit | ${(pct(l2hit, 50) / pct(l1, 50)).toFixed(1)}x | ${(pct(l2hit, 99) / pct(l1, 99)).toFixed(1)}x |`,
)
console.log(
  `| L2 hit on the cluster (store.load, Redis Cluster round trip) | ${us(pct(l2hitCluster, 50))} | ${us(pct(l2hitCluster, 99))} |`,
)
console.log(
  `| single-flight wait overhead (waiter done − holder done) | ${us(pct(overhead, 50))} | ${us(pct(overhead, 99))} |`,
)
console.log(
  `| single-flight wait overhead on the cluster | ${us(pct(overheadCluster, 50))} | ${us(pct(overheadCluster, 99))} |`,
)
console.log('')
console.log('| cold page of 50 on 3 replicas at once | upstream event reads | wall time |')
console.log('| --- | --- | --- |')
console.log(`| fleet mode off | ${off.reads} | ${off.ms.toFixed(0)} ms |`)
console.log(`| fleet mode on, one Redis | ${on.reads} | ${on.ms.toFixed(0)} ms |`)
console.log(
  `| fleet mode on, Redis Cluster (3 + 3) | ${onClusterCold.reads} | ${onClusterCold.ms.toFixed(0)} ms |`,
)
console.log(
  `| on / off, one Redis | ${(on.reads / off.reads).toFixed(2)}x | ${(on.ms / off.ms).toFixed(2)}x |`,
)
console.log(
  `| on / off, Redis Cluster | ${(onClusterCold.reads / off.reads).toFixed(2)}x | ${(onClusterCold.ms / off.ms).toFixed(2)}x |`,
)

await client.close()
await upstream.close()
await Promise.all(stores.map((s) => s.close()))
await redis.stop()
await cluster.stop()
