import type http from 'node:http'
import { createMockUpstream, type MockServerHandle } from '@userevents/mock-server'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type CircuitBreaker,
  ConcurrencyLimitError,
  createCircuitBreaker,
  createUpstreamClient,
  InvalidOptionError,
  isUpstreamErrorCode,
  path,
  type UpstreamClient,
} from '../src/index.js'
import { closeAfterEach, json, recordingLogger, startServer } from './helpers.js'

const open = closeAfterEach()
const extra: {
  mock: MockServerHandle | undefined
  clients: UpstreamClient[]
  breaker: CircuitBreaker | undefined
} = { mock: undefined, clients: [], breaker: undefined }
afterEach(async () => {
  await Promise.all(extra.clients.map((c) => c.close()))
  await extra.mock?.close()
  extra.breaker?.shutdown()
  extra.mock = undefined
  extra.clients = []
  extra.breaker = undefined
})

/** The mock upstream on a real port, `addEvent` flapping (5 ok, then 503s), reads instant. */
async function flappingMock() {
  const mock = createMockUpstream({ delays: 0, networkErrorRate: 0, mode: 'flapping' })
  extra.mock = await mock.listen()
  return { mock, url: extra.mock.url }
}

const event = { name: 'login', userId: '1' }

describe('per-operation circuit breakers', () => {
  it("opens only addEvent's circuit; 1,000 concurrent reads meanwhile all reach the upstream and succeed", async () => {
    const { mock, url } = await flappingMock()
    // Default breaker and retry counts; retry waits scaled down to milliseconds. Generous
    // timeouts: 1,000 reads queue on 50 sockets, and a slow shared machine must not turn them
    // into timeouts, which this test is not about.
    const client = createUpstreamClient({
      baseUrl: url,
      name: 'events',
      retry: { minDelayMs: 1, maxDelayMs: 2 },
      timeoutMs: 60_000,
      deadlineMs: 120_000,
    })
    const attemptErrors: string[] = []
    client.onAttemptError((e) => attemptErrors.push(`${e.operation}: ${e.error.message}`))
    extra.clients.push(client)
    const ids = mock.store
      .listUsers()
      .map((u) => u.id)
      .slice(0, 10)
    const opened: string[] = []
    client.onStateChange((e) => opened.push(`${e.operation} ${e.from}->${e.to}`))

    // 5 successes, then 503s, which the client retries even for a POST (a 503 says the request
    // was not processed): one failing call makes 3 failed attempts, and the breaker, counting
    // attempts, opens.
    const writes = []
    for (let i = 0; i < 10; i++) writes.push(await client.post('/addEvent', event).catch((e) => e))
    expect(writes.slice(0, 5).every((w) => !(w instanceof Error))).toBe(true)
    expect(writes[5]).toMatchObject({ status: 503, attempts: 3 })
    const rejected = writes.slice(6)
    for (const e of rejected) {
      expect(isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN') && e.operation).toBe('POST /addEvent')
    }
    expect(mock.calls('addEvent')).toBe(8)
    expect(opened).toEqual(['POST /addEvent closed->open'])

    const users = await Promise.all(
      Array.from({ length: 1_000 }, (_, i) =>
        client.get<{ id: string }>(path`/getUserById/${ids[i % ids.length] as string}`),
      ),
    )
    expect(attemptErrors.filter((e) => !e.startsWith('POST /addEvent'))).toEqual([])
    expect(users).toHaveLength(1_000)
    expect(new Set(users.map((u) => u.id)).size).toBe(ids.length)
    expect(mock.calls('getUserById')).toBe(1_000)
    expect(client.circuitStates()).toEqual({
      'POST /addEvent': 'open',
      'GET /getUserById/{}': 'closed',
    })
    expect(client.circuitState).toBe('open') // the worst of the client's breakers
    await expect(client.post('/addEvent', event)).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    expect(mock.calls('addEvent')).toBe(8)
  })

  it('a createCircuitBreaker handle stays one breaker for every operation (the old blackout)', async () => {
    const { mock, url } = await flappingMock()
    extra.breaker = createCircuitBreaker({ name: 'events' })
    const client = createUpstreamClient({ baseUrl: url, breaker: extra.breaker })
    extra.clients.push(client)
    for (let i = 0; i < 8; i++) await client.post('/addEvent', event).catch(() => undefined)
    const reads = await Promise.all(
      Array.from({ length: 20 }, () => client.get('/getUserById/1').catch((e: unknown) => e)),
    )
    expect(reads.every((e) => isUpstreamErrorCode(e, 'UPSTREAM_CIRCUIT_OPEN'))).toBe(true)
    expect(mock.calls('getUserById')).toBe(0)
    expect(client.circuitStates()).toEqual({ '*': 'open' })
  })

  it('keys calls by the operation option, then the path template, then method and first segment', async () => {
    open.server = await startServer((_req, res) => json(res, 200, {}))
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    const seen: string[] = []
    open.client.onRequest((e) => seen.push(e.operation))
    await open.client.get(path`/getUserById/${7}`, { operation: 'getUserById' })
    await open.client.get(path`/getUserById/${7}/events/${'a b'}`)
    await open.client.get('/getUserById/7?x=1')
    await open.client.post('/getUserById', {})
    await open.client.get('/getUsers?page=2')
    expect(seen).toEqual([
      'getUserById',
      'GET /getUserById/{}/events/{}',
      'GET /getUserById',
      'POST /getUserById',
      'GET /getUsers',
    ])
    expect(Object.keys(open.client.circuitStates())).toEqual(
      seen.filter((s, i) => seen.indexOf(s) === i),
    )
  })

  it('shares one (other) breaker beyond maxOperations, with a single warning', async () => {
    open.server = await startServer((_req, res) => json(res, 500, {}))
    const { logger, lines } = recordingLogger()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      name: 'events',
      logger,
      retry: false,
      maxOperations: 2,
      breaker: { failureThreshold: 2 },
    })
    for (const p of ['/a', '/b', '/c', '/d', '/e']) await open.client.get(p).catch(() => undefined)
    expect(open.client.circuitStates()).toEqual({
      'GET /a': 'closed',
      'GET /b': 'closed',
      '(other)': 'open', // /c and /d counted together; /e was rejected
    })
    expect(open.server.requests).toBe(4)
    const warnings = lines.filter((l) => l.level === 'warn' && 'maxOperations' in l.fields)
    expect(warnings.map((l) => l.fields)).toEqual([
      { upstream: 'events', operation: 'GET /c', maxOperations: 2 },
    ])
  })
})

describe('caller errors', () => {
  const cycle = Object.assign({ a: 1 }, { self: {} })
  cycle.self = cycle
  /** [method, path, body, options, expected `option`]: 25 kinds of caller mistake. */
  const mistakes: [string, string, unknown, object | undefined, string][] = [
    ['GET', '/getUserById/Ann Lee', undefined, undefined, 'path'],
    ['GET', '/getUserById/\u0000', undefined, undefined, 'path'],
    ['GET', '/getUserById/a\r\nx: y', undefined, undefined, 'path'],
    ['GET', '/getUserById/\u00e9', undefined, undefined, 'path'],
    ['GET', '/getUserById/../admin', undefined, undefined, 'path'],
    ['GET', '/getUserById/%2E%2e/admin', undefined, undefined, 'path'],
    ['GET', '/getUserById/%zz', undefined, undefined, 'path'],
    ['GET', '/getUserById/1#frag', undefined, undefined, 'path'],
    ['GET', 'getUserById/1', undefined, undefined, 'path'],
    ['GET', '/x', undefined, { headers: { 'bad name': 'v' } }, 'headers.bad name'],
    ['GET', '/x', undefined, { headers: { 'x-a': 'a\r\nb' } }, 'headers.x-a'],
    ['GET', '/x', undefined, { headers: { 'x-a': 1 } }, 'headers.x-a'],
    ['GET', '/x', undefined, { headers: { connection: 'close' } }, 'headers.connection'],
    ['POST', '/x', { n: 1n }, undefined, 'body'],
    ['POST', '/x', cycle, undefined, 'body'],
    ['POST', '/x', () => 1, undefined, 'body'],
    ['GET', '/x', undefined, { query: { ids: [{}] } }, 'query.ids'],
    ['GET', '/x', undefined, { query: 'a=1' }, 'query'],
    ['GET', '/x', undefined, { operation: '' }, 'operation'],
    ['GET', '/x', undefined, { operation: 'a\nb' }, 'operation'],
    ['GET', '/x', undefined, { requestId: 'a\r\nx-b: c' }, 'requestId'],
    ['GET', '/x', undefined, { requestId: 5 }, 'requestId'],
    ['POST', '/x', {}, { idempotencyKey: 'k\n' }, 'idempotencyKey'],
    ['GET', '/x', undefined, { signal: {} }, 'signal'],
    ['GET', '/x', undefined, { cache: 'no' }, 'cache'],
  ]

  it('100 invalid calls: 100 InvalidOptionErrors, 0 connections, no attempt, no retry, every circuit closed', async () => {
    open.server = await startServer((_req, res) => json(res, 200, { ok: true }))
    const c = createUpstreamClient({
      baseUrl: open.server.origin,
      breaker: { failureThreshold: 1 },
    })
    open.client = c
    const events: string[] = []
    c.onRequest(() => events.push('request'))
    c.onAttemptError(() => events.push('attemptError'))
    c.onRetry(() => events.push('retry'))
    c.onStateChange(() => events.push('state'))
    const send = ([method, p, body, options]: (typeof mistakes)[number]) => {
      const o = options as never
      if (method === 'POST') return c.post(p, body, o)
      return c.get(p, o)
    }
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        send(mistakes[i % mistakes.length] as (typeof mistakes)[number]).catch((e: unknown) => e),
      ),
    )
    results.forEach((error, i) => {
      expect(error).toBeInstanceOf(InvalidOptionError)
      expect((error as InvalidOptionError).option).toBe(mistakes[i % mistakes.length]?.[4])
      expect((error as InvalidOptionError).attempts).toBe(0)
    })
    expect(open.server.connections).toBe(0)
    expect(open.server.requests).toBe(0)
    expect(events).toEqual([])
    expect(c.circuitState).toBe('closed')
    expect(Object.values(c.circuitStates()).every((s) => s === 'closed')).toBe(true)
    // And the client still works: nothing was counted against the upstream.
    await expect(c.get('/getUserById/1')).resolves.toEqual({ ok: true })
  })

  it('treats undici rejecting a request as a caller error too: not retried, not counted', async () => {
    const { Dispatcher, errors } = await import('undici')
    let dispatched = 0
    class Refusing extends Dispatcher {
      override dispatch(): boolean {
        dispatched++
        throw new errors.InvalidArgumentError('invalid something')
      }
    }
    open.client = createUpstreamClient({
      baseUrl: 'http://127.0.0.1:1',
      dispatcher: new Refusing(),
      breaker: { failureThreshold: 1 },
    })
    const error = await open.client.get('/x').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(error).toMatchObject({ option: 'request' })
    expect(dispatched).toBe(1)
    expect(open.client.circuitStates()).toEqual({ 'GET /x': 'closed' })
  })

  it('quotes the bad value in the message', async () => {
    open.client = createUpstreamClient({ baseUrl: 'http://127.0.0.1:1' })
    await expect(open.client.get('/getUserById/Ann Lee')).rejects.toThrow(
      'Expected `path` to contain only visible ASCII characters, got "/getUserById/Ann Lee"',
    )
    await expect(open.client.post('/x', { n: 1n })).rejects.toThrow(
      'Expected `body` to be JSON-serialisable: Do not know how to serialize a BigInt',
    )
    await expect(open.client.get('/x', { headers: { 'a b': 'v' } })).rejects.toThrow(
      'Expected header name "a b" to be an HTTP token',
    )
    expect(() => createUpstreamClient({ baseUrl: 'http://x', headers: { 'a:b': 'v' } })).toThrow(
      InvalidOptionError,
    )
  })
})

describe('path tag and query option', () => {
  it('encodes each value as one segment and rejects . and ..', () => {
    expect(path`/getUserById/${'a/b#c?d %zz'}`).toBe('/getUserById/a%2Fb%23c%3Fd%20%25zz')
    expect(path`/users/${1}/events/${'x'}`).toBe('/users/1/events/x')
    for (const bad of ['..', '.', '']) {
      expect(() => path`/getUserById/${bad}`).toThrow(InvalidOptionError)
    }
    expect(() => path`/getUserById/${{} as never}`).toThrow(
      'Expected a path value to be a string, number, bigint or boolean, got {}',
    )
  })

  it('appends query parameters: arrays repeated, undefined skipped, values encoded', async () => {
    open.server = await startServer((req, res) => json(res, 200, { url: req.url }))
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    const a = await open.client.get<{ url: string }>('/getEvents', {
      query: { ids: [1, 'a&b'], from: undefined, q: 'x y', ok: true },
    })
    expect(a.url).toBe('/getEvents?ids=1&ids=a%26b&q=x%20y&ok=true')
    const b = await open.client.get<{ url: string }>('/getEvents?page=2', { query: { size: 5 } })
    expect(b.url).toBe('/getEvents?page=2&size=5')
  })
})

describe('maxInFlight', () => {
  async function holdingServer() {
    const held: http.ServerResponse[] = []
    open.server = await startServer((req, res) => {
      if (req.url?.startsWith('/slow')) held.push(res)
      else json(res, 200, { fast: true })
    })
    return held
  }

  it('fails fast over the cap, per operation, without counting a failure', async () => {
    const held = await holdingServer()
    const c = createUpstreamClient({
      baseUrl: (open.server as { origin: string }).origin,
      maxInFlight: 2,
      breaker: { failureThreshold: 1 },
    })
    open.client = c
    const slow = [c.get('/slow/1'), c.get('/slow/2')]
    await vi.waitFor(() => expect(held).toHaveLength(2))
    const over = await c.get('/slow/3').catch((e: unknown) => e)
    expect(over).toBeInstanceOf(ConcurrencyLimitError)
    expect(over).toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
      operation: 'GET /slow',
      limit: 2,
      attempts: 0,
    })
    // Another operation is not limited by the slow one.
    await expect(c.get('/fast')).resolves.toEqual({ fast: true })
    expect(c.circuitStates()).toEqual({ 'GET /slow': 'closed', 'GET /fast': 'closed' })
    for (const res of held) json(res, 200, {})
    await Promise.all(slow)
    expect(open.server?.requests).toBe(3)
    // The slot was released: the operation can be called again.
    const again = c.get('/slow/4')
    await vi.waitFor(() => expect(held).toHaveLength(3))
    json(held[2] as http.ServerResponse, 200, { again: true })
    await expect(again).resolves.toEqual({ again: true })
  })

  it('lets up to maxWaiting calls wait for a slot within their deadline', async () => {
    const held = await holdingServer()
    const c = createUpstreamClient({
      baseUrl: (open.server as { origin: string }).origin,
      maxInFlight: 1,
      maxWaiting: 1,
    })
    open.client = c
    const first = c.get('/slow/1')
    await vi.waitFor(() => expect(held).toHaveLength(1))
    const waiting = c.get('/slow/2')
    const rejected = await c.get('/slow/3').catch((e: unknown) => e)
    expect(rejected).toBeInstanceOf(ConcurrencyLimitError)
    json(held[0] as http.ServerResponse, 200, { n: 1 })
    await expect(first).resolves.toEqual({ n: 1 })
    await vi.waitFor(() => expect(held).toHaveLength(2))
    json(held[1] as http.ServerResponse, 200, { n: 2 })
    await expect(waiting).resolves.toEqual({ n: 2 })

    // A waiter whose deadline passes leaves the queue with the same error, not a timeout.
    const third = c.get('/slow/4')
    await vi.waitFor(() => expect(held).toHaveLength(3))
    const late = await c.get('/slow/5', { deadlineMs: 20 }).catch((e: unknown) => e)
    expect(late).toBeInstanceOf(ConcurrencyLimitError)
    expect((late as Error).message).toContain('until its deadline')
    json(held[2] as http.ServerResponse, 200, {})
    await third
    expect(open.server?.requests).toBe(3)
  })

  it('validates maxInFlight and maxWaiting', () => {
    const baseUrl = 'http://127.0.0.1:1'
    expect(() => createUpstreamClient({ baseUrl, maxInFlight: 0 })).toThrow(
      'Expected `maxInFlight` to be a positive integer, got 0',
    )
    expect(() => createUpstreamClient({ baseUrl, maxWaiting: 3 })).toThrow(
      'Expected `maxWaiting` to be 0 without `maxInFlight`, got 3',
    )
    expect(() => createUpstreamClient({ baseUrl, maxOperations: 1.5 })).toThrow(
      'Expected `maxOperations` to be a positive integer, got 1.5',
    )
  })
})
