import { context, propagation, trace } from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { W3CTraceContextPropagator } from '@opentelemetry/core'
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createEventAggregator } from '../src/index.js'
import { startUpstream, type Upstream, usersWithEvents } from './helpers.js'

let spans: InMemorySpanExporter
let provider: BasicTracerProvider
let upstream: Upstream | undefined

beforeEach(() => {
  spans = new InMemorySpanExporter()
  provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())
  propagation.setGlobalPropagator(new W3CTraceContextPropagator())
  trace.setGlobalTracerProvider(provider)
})

afterEach(async () => {
  await upstream?.close()
  upstream = undefined
  trace.disable()
  context.disable()
  propagation.disable()
  await provider.shutdown()
})

/** Loads one page of each user concurrently, each inside its own root span `page <user>`. */
async function pagesInOwnSpans(
  aggregator: ReturnType<typeof createEventAggregator>,
  userIds: string[],
) {
  const tracer = trace.getTracer('test')
  return Promise.all(
    userIds.map((userId) =>
      tracer.startActiveSpan(`page ${userId}`, { root: true }, async (span) => {
        try {
          return await aggregator.getEventsByUserId(userId)
        } finally {
          span.end()
        }
      }),
    ),
  )
}

/**
 * For each upstream call span (INTERNAL) of `operation`: its URL (from its attempt span) and the
 * `page <user>` span above it (through the aggregator's `getEventsByUserId` span).
 */
function parentsOfCalls(finished: ReadableSpan[], operation: string) {
  const byId = new Map(finished.map((s) => [s.spanContext().spanId, s]))
  const pageAbove = (span: ReadableSpan): string | undefined => {
    const parent = byId.get(span.parentSpanContext?.spanId ?? '')
    if (parent === undefined) return undefined
    return parent.name.startsWith('page ') ? parent.name : pageAbove(parent)
  }
  return finished
    .filter((s) => s.name === operation && s.kind === 0 /* INTERNAL */)
    .map((call) => {
      const attempt = finished.find(
        (s) => s.parentSpanContext?.spanId === call.spanContext().spanId,
      )
      const url = new URL(String(attempt?.attributes['url.full']))
      return { url: url.pathname + url.search, parent: pageAbove(call) }
    })
}

/** The tree of finished spans as indented lines `name (kind)`, children in start order. */
function tree(finished: ReadableSpan[]): string[] {
  const kinds = ['INTERNAL', 'SERVER', 'CLIENT']
  const lines: string[] = []
  const walk = (parent: string | undefined, depth: number) => {
    const children = finished
      .filter((s) => s.parentSpanContext?.spanId === parent)
      .sort((x, y) => x.startTime[0] - y.startTime[0] || x.startTime[1] - y.startTime[1])
    for (const s of children) {
      lines.push(`${'  '.repeat(depth)}${s.name} (${kinds[s.kind]})`)
      walk(s.spanContext().spanId, depth + 1)
    }
  }
  walk(undefined, 0)
  return lines
}

describe('the span tree of a page load', () => {
  it('page span → user read and event reads, each with its attempt', async () => {
    const data = usersWithEvents([2])
    upstream = await startUpstream({ data })
    const aggregator = createEventAggregator({ client: upstream.client })
    const page = await aggregator.getEventsByUserId('u2', { limit: 2 })
    expect(page.items).toHaveLength(2)
    const finished = spans.getFinishedSpans()
    expect(tree(finished)).toEqual([
      'getEventsByUserId (INTERNAL)',
      '  getUserById (INTERNAL)',
      '    GET getUserById (CLIENT)',
      '  getEventById (INTERNAL)',
      '    GET getEventById (CLIENT)',
      '  getEventById (INTERNAL)',
      '    GET getEventById (CLIENT)',
    ])
    const root = finished.find((s) => s.name === 'getEventsByUserId')!
    expect(root.attributes).toEqual({
      'userevents.user.id': 'u2',
      'userevents.page.offset': 0,
      'userevents.page.limit': 2,
      'userevents.page.items': 2,
      'userevents.page.missing': 0,
      'userevents.page.total': 2,
    })
  })
})

describe('a page served from cache', () => {
  it('opens no span, answers the same page, and a partly cached page opens one again', async () => {
    const data = usersWithEvents([3])
    upstream = await startUpstream({ data })
    const aggregator = createEventAggregator({ client: upstream.client })
    const first = await aggregator.getEventsByUserId('u3', { limit: 2 })
    const loaded = spans.getFinishedSpans().length
    expect(loaded).toBeGreaterThan(0)
    // Every event of the page and the user cached: no I/O, so no span (and no upstream call).
    const again = await aggregator.getEventsByUserId('u3', { limit: 2 })
    expect(again).toEqual(first)
    const projected = await aggregator.getEventsByUserId('u3', { limit: 2, fields: ['name'] })
    expect(projected.items).toEqual(first.items.map((e) => ({ id: e.id, name: e.name })))
    expect(spans.getFinishedSpans()).toHaveLength(loaded)
    // One event of the next page is not cached: the page loads, in its span.
    const next = await aggregator.getEventsByUserId('u3', { limit: 2, offset: 1 })
    expect(next.items).toHaveLength(2)
    const pageSpans = spans.getFinishedSpans().filter((s) => s.name === 'getEventsByUserId')
    expect(pageSpans).toHaveLength(2)
    expect(pageSpans[1]?.attributes['userevents.page.offset']).toBe(1)
    // An aborted caller of a cached page still gets its abort.
    const aborted = AbortSignal.abort(new Error('stop'))
    await expect(aggregator.getEventsByUserId('u3', { limit: 2, signal: aborted })).rejects.toThrow(
      'stop',
    )
  })
})

describe('async context of queued work', () => {
  it('2 pages at concurrency 1: each event read is a child of its own page', async () => {
    const data = usersWithEvents([3, 4])
    upstream = await startUpstream({ data })
    const aggregator = createEventAggregator({ client: upstream.client, concurrency: 1 })
    await pagesInOwnSpans(aggregator, ['u3', 'u4'])
    const owner = new Map(data.users.flatMap((u) => u.events.map((id) => [id, u.id])))
    const reads = parentsOfCalls(spans.getFinishedSpans(), 'getEventById')
    expect(reads).toHaveLength(7)
    for (const { url, parent } of reads) {
      expect(parent).toBe(`page ${owner.get(url.split('/').at(-1)!)}`)
    }
    const users = parentsOfCalls(spans.getFinishedSpans(), 'getUserById')
    expect(users.map((u) => `${u.url} ${u.parent}`).sort()).toEqual([
      '/getUserById/u3 page u3',
      '/getUserById/u4 page u4',
    ])
    // The upstream saw each page's own trace id on the reads of that page.
    const pageTrace = new Map(
      spans
        .getFinishedSpans()
        .filter((s) => s.name.startsWith('page '))
        .map((s) => [s.name.slice(5), s.spanContext().traceId]),
    )
    const seen = upstream.mock.requests().filter((r) => r.route === 'getEventById')
    expect(seen).toHaveLength(7)
    for (const r of seen) {
      const traceId = r.headers.traceparent?.split('-')[1]
      expect(traceId).toBe(pageTrace.get(owner.get(r.path.split('/').at(-1)!)!))
    }
  })

  it('batches formed on the next tick run in the context of their first id', async () => {
    const data = usersWithEvents([2, 3])
    upstream = await startUpstream({ data })
    const aggregator = createEventAggregator({
      client: upstream.client,
      concurrency: 1,
      batch: { maxIds: 2 },
    })
    // Cached users: both pages ask for their events in the same tick, so one flush forms the
    // batches of both pages.
    for (const user of data.users) aggregator.users.prime(user.id, user)
    await pagesInOwnSpans(aggregator, ['u2', 'u3'])
    const owner = new Map(data.users.flatMap((u) => u.events.map((id) => [id, u.id])))
    const batches = parentsOfCalls(spans.getFinishedSpans(), 'getEventsByIds')
    expect(batches).toHaveLength(3) // u2: 2 ids; u3: 2 + 1 ids
    for (const { url, parent } of batches) {
      const ids = new URLSearchParams(url.split('?')[1]).get('ids')!.split(',')
      expect(parent).toBe(`page ${owner.get(ids[0]!)}`)
    }
  })
})
