import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { createUpstreamClient } from '@userevents/upstream-client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AggregatorValidationError,
  createEventAggregator,
  isAggregatorErrorCode,
  type UpstreamUnavailableError,
} from '../src/index.js'
import { startUpstream, type Upstream, usersWithEvents } from './helpers.js'

let upstream: Upstream | undefined
afterEach(async () => {
  await upstream?.close()
  upstream = undefined
})

describe('the window follows the client’s learned concurrency limit', () => {
  it('never has more event calls in flight than limit(operation) says, re-read as it moves', async () => {
    upstream = await startUpstream({ data: usersWithEvents([50]), delays: { getEventById: 200 } })
    const { client, mock } = upstream
    let limit = 3
    const asked: string[] = []
    const aggregator = createEventAggregator({
      client: {
        get: (path, options) => client.get(path, options),
        limit: (operation) => {
          asked.push(operation)
          return limit
        },
      },
      concurrency: 50,
    })
    await aggregator.getEventsByUserId('u50', { limit: 20 })
    expect(mock.highWater('getEventById')).toBe(3)
    mock.resetCalls()
    limit = 8
    await aggregator.getEventsByUserId('u50', { limit: 20, offset: 20 })
    expect(mock.highWater('getEventById')).toBe(8)
    expect(new Set(asked)).toEqual(new Set(['getUserById', 'getEventById']))
    // Never above the aggregator's own concurrency; no limit (undefined) means the concurrency.
    mock.resetCalls()
    const capped = createEventAggregator({
      client: { get: (path, options) => client.get(path, options), limit: () => undefined },
      concurrency: 4,
    })
    await capped.getEventsByUserId('u50', { limit: 20 })
    expect(mock.highWater('getEventById')).toBe(4)
  })

  it('rejects a client whose limit is not a function', () => {
    const client = { get: () => Promise.resolve(undefined), limit: 5 }
    expect(() => createEventAggregator({ client: client as never })).toThrow(
      AggregatorValidationError,
    )
  })

  it('treats a concurrency-limit refusal like an open circuit: 503-style, with retryAfterMs', async () => {
    upstream = await startUpstream(
      { data: usersWithEvents([3]), delays: { getEventById: 300 } },
      { adaptiveLimit: { initialLimit: 1, minLimit: 1, maxLimit: 1, maxQueued: 0 } },
    )
    const { client, mock } = upstream
    const aggregator = createEventAggregator({ client })
    // Another caller of the same client holds the only getEventById slot.
    const busy = client.get('/getEventById/1', { operation: 'getEventById' })
    await vi.waitFor(() => expect(mock.inFlight('getEventById')).toBe(1))
    const error = await aggregator.getEventsByUserId('u3').catch((e: unknown) => e)
    expect(isAggregatorErrorCode(error, 'UPSTREAM_UNAVAILABLE')).toBe(true)
    const unavailable = error as UpstreamUnavailableError
    expect(unavailable.message).toContain('concurrency limit refused the call')
    expect(unavailable.retryAfterMs).toBeGreaterThanOrEqual(1)
    expect(unavailable.cause).toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
      name: 'ConcurrencyLimitError',
      operation: 'getEventById',
    })
    expect(mock.calls('getEventById')).toBe(1)
    await busy
  })
})

describe('deadline of the caller', () => {
  it('gives each upstream call what is left of deadlineMs, which the client propagates', async () => {
    const headers: Array<string | undefined> = []
    const server = http.createServer((req, res) => {
      headers.push(req.headers['x-request-timeout-ms'] as string | undefined)
      const id = (req.url ?? '').split('/').pop() ?? ''
      const body = req.url?.startsWith('/getUserById/')
        ? { id, userName: 'u', email: 'u@x', events: ['1', '2', '3'] }
        : { id, name: `event ${id}`, userId: 'u' }
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(body))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const client = createUpstreamClient({ baseUrl: `http://127.0.0.1:${port}`, retry: false })
    try {
      const aggregator = createEventAggregator({ client, cache: false, userCache: false })
      const page = await aggregator.getEventsByUserId('u', { deadlineMs: 300 })
      expect(page.items).toHaveLength(3)
      const pages = []
      for await (const p of aggregator.iterateEventsByUserId('u', { deadlineMs: 250 }))
        pages.push(p)
      expect(headers).toHaveLength(4 + 4)
      for (const header of headers) {
        expect(Number(header)).toBeGreaterThan(0)
        expect(Number(header)).toBeLessThanOrEqual(300)
      }
      // Without a deadline, the client's own (its 5 s attempt timeout) is what goes upstream.
      await aggregator.users.load('v')
      expect(headers.at(-1)).toBe('5000')
      await expect(aggregator.getEventsByUserId('u', { deadlineMs: 0 })).rejects.toThrow(
        AggregatorValidationError,
      )
    } finally {
      await client.close()
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
  })
})
