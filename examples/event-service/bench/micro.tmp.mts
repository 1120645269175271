import { createMockUpstream } from '@userevents/mock-server'
import { createUpstreamClient } from '@userevents/upstream-client'
import { createEventAggregator } from '@userevents/event-aggregator'
const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })
const client = createUpstreamClient({ baseUrl: upstream.url, name: 'events', cache: { ttlMs: 3_600_000, max: 5000, staleIfError: true } })
const mk = (userCache) => createEventAggregator({ client, cache: { ttlMs: 3_600_000, max: 50_000 }, userCache, staleIfError: true, batch: false })
const variants = process.env.ONLY ? { off: mk(false) } : { off: mk(false), on: mk({ ttlMs: 3_600_000, max: 1000 }) }
for (const agg of Object.values(variants)) await agg.getEventsByUserId('1', {})
const N = 200_000
for (let round = 0; round < 3; round++) {
  for (const [name, agg] of Object.entries(variants)) {
    const t = performance.now()
    for (let i = 0; i < N; i++) {
      const c = new AbortController()
      await agg.getEventsByUserId('1', { signal: c.signal, requestId: 'r-' + (i & 1023), limit: 50 })
    }
    console.log(name, ((performance.now() - t) / N * 1000).toFixed(2), 'µs/page')
  }
}
await client.close(); await upstream.close(); process.exit(0)
