/*
 * What the plugin costs on the hot path: a warm page (user and events cached) served by
 * `registerEventPageRoute` against the same page served by a hand-written route over the same
 * client and aggregator options. Both apps and the mock run on 127.0.0.1 in this process; 50
 * closed-loop workers on a keep-alive undici Pool per app; slices of 1 s interleaved A, B, A, B...
 * so both see the same machine load. Prints req/s per slice, the medians and their ratio.
 *
 *   npx tsx bench/page-route.bench.ts        (from packages/fastify, after `pnpm build`)
 */
import { loadavg } from 'node:os'
import {
  createEventAggregator,
  createPageSerializer,
  type EventField,
} from '@userevents/event-aggregator'
import { createMockUpstream } from '@userevents/mock-server'
import { createUpstreamClient } from '@userevents/upstream-client'
import Fastify from 'fastify'
import { Pool } from 'undici'
import { registerEventPageRoute, userEvents } from '../src/index.js'

const SLICE_MS = 1_000
const ROUNDS = Number(process.env.ROUNDS ?? 7)
const WORKERS = 50
const PATH = '/users/1/events?limit=2&fields=name'

const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen()

const withPlugin = Fastify()
await withPlugin.register(userEvents, { client: { baseUrl: upstream.url } })
registerEventPageRoute(withPlugin, { url: '/users/:id/events' })

// The same route written by hand, as the aggregator README used to suggest.
const byHand = Fastify()
const client = createUpstreamClient({ baseUrl: upstream.url })
const aggregator = createEventAggregator({ client })
byHand.get<{
  Params: { id: string }
  Querystring: { limit?: number; offset?: number; fields?: string }
}>(
  '/users/:id/events',
  {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          limit: { type: 'integer' },
          offset: { type: 'integer' },
          fields: { type: 'string' },
        },
      },
    },
  },
  async (request, reply) => {
    const fields = request.query.fields?.split(',') as EventField[] | undefined
    const page = await aggregator.getEventsByUserId(request.params.id, {
      limit: request.query.limit,
      offset: request.query.offset,
      fields,
      requestId: request.id,
    })
    reply.header('x-total-count', String(page.total))
    if (fields)
      reply.type('application/json; charset=utf-8').serializer(createPageSerializer(fields))
    return page
  },
)

const targets = {
  plugin: await withPlugin.listen({ host: '127.0.0.1', port: 0 }),
  'by hand': await byHand.listen({ host: '127.0.0.1', port: 0 }),
}
const pools = Object.fromEntries(
  Object.entries(targets).map(([name, url]) => [name, new Pool(url, { connections: WORKERS })]),
) as Record<keyof typeof targets, Pool>

async function slice(pool: Pool): Promise<number> {
  let done = 0
  const end = performance.now() + SLICE_MS
  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      while (performance.now() < end) {
        const res = await pool.request({ method: 'GET', path: PATH })
        const text = await res.body.text()
        if (res.statusCode !== 200) throw new Error(`${res.statusCode} ${text}`)
        done++
      }
    }),
  )
  return (done * 1000) / SLICE_MS
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
const results: Record<string, number[]> = { plugin: [], 'by hand': [] }
for (const name of Object.keys(pools) as (keyof typeof pools)[]) await slice(pools[name]) // warm-up
for (let round = 0; round < ROUNDS; round++) {
  for (const name of Object.keys(pools) as (keyof typeof pools)[]) {
    results[name]?.push(await slice(pools[name]))
  }
}
const plugin = median(results.plugin ?? [])
const hand = median(results['by hand'] ?? [])
console.log(
  `warm page ${PATH}, ${WORKERS} workers, ${ROUNDS} interleaved slices of ${SLICE_MS} ms each`,
)
for (const [name, xs] of Object.entries(results)) {
  console.log(
    `${name.padEnd(8)} median ${median(xs).toFixed(0)} req/s  slices ${xs.map((x) => x.toFixed(0)).join(' ')}`,
  )
}
console.log(
  `ratio plugin / by hand: ${(plugin / hand).toFixed(2)}  (load average at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
)

for (const pool of Object.values(pools)) await pool.close()
await withPlugin.close()
await byHand.close()
await client.close()
await upstream.close()
