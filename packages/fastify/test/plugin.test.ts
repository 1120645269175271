import { Agent, request as httpRequest } from 'node:http'
import { createEventAggregator, type EventAggregator } from '@userevents/event-aggregator'
import {
  createMockUpstream,
  type MockServerHandle,
  type MockUpstream,
} from '@userevents/mock-server'
import { createUpstreamClient, path, type UpstreamClient } from '@userevents/upstream-client'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  InvalidPluginOptionError,
  registerEventPageRoute,
  toHttpProblem,
  type UpstreamCallContext,
  userEvents,
} from '../src/index.js'
import { type RecordingUpstream, startRecordingUpstream } from './helpers.js'

let mock: MockUpstream
let server: MockServerHandle
const cleanups: (() => Promise<unknown>)[] = []

beforeEach(async () => {
  mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
  server = await mock.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(() => server.close())
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A Fastify app with the plugin over the mock; closed after the test. */
async function app(options: Record<string, unknown> = {}): Promise<FastifyInstance> {
  const fastify = Fastify()
  cleanups.push(() => fastify.close())
  await fastify.register(userEvents, { client: { baseUrl: server.url, retry: false }, ...options })
  return fastify
}

describe('decorators', () => {
  it('decorates the instance with the client and the aggregator, typed', async () => {
    const fastify = await app()
    fastify.get('/users', async (_request, reply) =>
      fastify.upstream.get('/getUsers', reply.upstreamContext()),
    )
    const page = await fastify.eventAggregator.getEventsByUserId('1', { limit: 1 })
    expect(page.total).toBe(2)
    const res = await fastify.inject({ method: 'GET', url: '/users' })
    expect(res.statusCode).toBe(200)
    expect((res.json() as { id: string }[]).map((u) => u.id)).toEqual(['1', '2', '3'])
  })

  it('passes request.id and one caller-gone signal per request to upstream calls', async () => {
    const upstream = await startRecordingUpstream()
    cleanups.push(() => upstream.close())
    const fastify = Fastify({ genReqId: () => 'req-42' })
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, { client: { baseUrl: upstream.url, retry: false } })
    let contexts: UpstreamCallContext[] = []
    let abortedAfterCall: boolean | undefined
    fastify.get('/twice', async (_request, reply) => {
      contexts = [reply.upstreamContext(), reply.upstreamContext()]
      await fastify.upstream.get('/a', reply.upstreamContext())
      abortedAfterCall = reply.upstreamContext().signal.aborted
      return { ok: true }
    })
    const res = await fastify.inject({ method: 'GET', url: '/twice' })
    expect(res.statusCode).toBe(200)
    expect(contexts[0]).toBe(contexts[1])
    expect(contexts[0]?.requestId).toBe('req-42')
    expect(abortedAfterCall).toBe(false)
    expect(upstream.requests.map((r) => r.headers['x-request-id'])).toEqual(['req-42'])
  })

  it('respects encapsulation: a sibling context registered without the plugin has no decorators', async () => {
    const root = Fastify()
    cleanups.push(() => root.close())
    let inside = false
    let outside = true
    await root.register(async (child) => {
      await child.register(userEvents, { client: { baseUrl: server.url } })
      inside = child.hasDecorator('upstream')
    })
    await root.register(async (sibling) => {
      outside = sibling.hasDecorator('upstream')
    })
    await root.ready()
    expect({ inside, outside }).toEqual({ inside: true, outside: false })
  })
})

describe('the caller-gone signal (real port)', () => {
  let upstream: RecordingUpstream
  let fastify: FastifyInstance
  let seen: AbortSignal | undefined
  let settled: Promise<unknown>

  beforeEach(async () => {
    upstream = await startRecordingUpstream(undefined, (url) => url === '/slow')
    cleanups.push(() => upstream.close())
    fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, { client: { baseUrl: upstream.url, retry: false } })
    fastify.post('/write', async (_request, reply) => {
      const context = reply.upstreamContext()
      seen = context.signal
      const call = fastify.upstream.post('/slow', { a: 1 }, context)
      settled = call.catch((err: unknown) => err)
      return call
    })
  })

  it('aborts the upstream call when the caller closes the connection', async () => {
    const base = await fastify.listen({ host: '127.0.0.1', port: 0 })
    const req = httpRequest(`${base}/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    })
    req.on('error', () => {})
    req.end('{"x":1}')
    await upstream.waitForRequests(1)
    expect(seen?.aborted).toBe(false)
    req.destroy()
    const err = (await settled) as { code?: string }
    expect(seen?.aborted).toBe(true)
    expect(err.code).toBe('UPSTREAM_ABORTED')
  })

  it('does not abort a POST whose body has been read while the caller still waits', async () => {
    const base = await fastify.listen({ host: '127.0.0.1', port: 0 })
    const answer = fetch(`${base}/write`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"x":1}',
    })
    await upstream.waitForRequests(1)
    // The request body is fully read here (the handler runs after parsing): request.signal on
    // Node 20 would already be aborted; the caller-gone signal must not be.
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(seen?.aborted).toBe(false)
    const held = upstream.held[0]
    held?.setHeader('content-type', 'application/json')
    held?.end('{"stored":true}')
    const res = await answer
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ stored: true })
    expect(seen?.aborted).toBe(false)
  })
})

describe('the caller-gone signal on a keep-alive connection (real port)', () => {
  /** GETs `path` on `agent` and resolves with the body. */
  const get = (agent: Agent, url: string) =>
    new Promise<string>((resolve, reject) => {
      httpRequest(url, { agent }, (res) => {
        let body = ''
        res.on('data', (c: Buffer) => {
          body += c
        })
        res.on('end', () => resolve(body))
      })
        .on('error', reject)
        .end()
    })

  it('is one signal per connection, not aborted when the connection closes after its answers', async () => {
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, { client: { baseUrl: 'http://127.0.0.1:9' } })
    const seen: AbortSignal[] = []
    const closed: Promise<void>[] = []
    fastify.get('/ctx', async (request, reply) => {
      seen.push(reply.upstreamContext().signal)
      closed.push(new Promise((resolve) => request.raw.socket.once('close', () => resolve())))
      return { ok: true }
    })
    const base = await fastify.listen({ host: '127.0.0.1', port: 0 })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    await get(agent, `${base}/ctx`)
    await get(agent, `${base}/ctx`)
    const other = new Agent({ keepAlive: true })
    await get(other, `${base}/ctx`)
    expect(seen[0]).toBe(seen[1])
    expect(seen[2]).not.toBe(seen[0])
    agent.destroy()
    other.destroy()
    await Promise.all(closed)
    expect(seen.map((s) => s.aborted)).toEqual([false, false, false])
  })

  it('aborts when the connection closes during its second request', async () => {
    const upstream = await startRecordingUpstream(undefined, (url) => url === '/slow')
    cleanups.push(() => upstream.close())
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, { client: { baseUrl: upstream.url, retry: false } })
    const seen: AbortSignal[] = []
    let settled: Promise<unknown> = Promise.resolve()
    fastify.get('/fast', async (_request, reply) => {
      seen.push(reply.upstreamContext().signal)
      return { ok: true }
    })
    fastify.get('/hang', async (_request, reply) => {
      const context = reply.upstreamContext()
      seen.push(context.signal)
      const call = fastify.upstream.get('/slow', context)
      settled = call.catch((err: unknown) => err)
      return call
    })
    const base = await fastify.listen({ host: '127.0.0.1', port: 0 })
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    await get(agent, `${base}/fast`)
    get(agent, `${base}/hang`).catch(() => {})
    await upstream.waitForRequests(1)
    expect(seen[1]).toBe(seen[0])
    expect(seen[1]?.aborted).toBe(false)
    agent.destroy()
    expect(((await settled) as { code?: string }).code).toBe('UPSTREAM_ABORTED')
    expect(seen[1]?.aborted).toBe(true)
  })
})

describe('paged routes (real port against the mock)', () => {
  it('serves a page object with headers, and a projection with a JSON content type', async () => {
    const fastify = await app()
    registerEventPageRoute(fastify, { url: '/users/:id/events', maxLimit: 100 })
    registerEventPageRoute(fastify, { url: '/getEventsByUserId/:id', body: 'items' })
    const base = await fastify.listen({ host: '127.0.0.1', port: 0 })

    const page = await fetch(`${base}/users/1/events?limit=1`)
    expect(page.status).toBe(200)
    expect(page.headers.get('x-total-count')).toBe('2')
    expect(page.headers.get('link')).toBe('</users/1/events?limit=1&offset=1>; rel="next"')
    expect(await page.json()).toEqual({
      items: [{ id: '1', name: 'Login', userId: '1', details: 'User logged in' }],
      total: 2,
      limit: 1,
      offset: 0,
      missing: [],
    })

    const projected = await fetch(`${base}/getEventsByUserId/1?fields=name&offset=1`)
    expect(projected.headers.get('content-type')).toBe('application/json; charset=utf-8')
    expect(projected.headers.get('link')).toBe(
      '</getEventsByUserId/1?limit=50&offset=0&fields=name>; rel="prev"',
    )
    expect(await projected.json()).toEqual([{ id: '2', name: 'Purchase' }])
  })

  it('answers a warm page from the caches with the bytes and headers of the cold one, and awaits an aggregator without `peek`', async () => {
    const client = createUpstreamClient({ baseUrl: server.url, retry: false })
    const aggregator = createEventAggregator({ client })
    // An aggregator of an older copy of the package: no `peekEventsByUserId`.
    const older = { ...aggregator, peekEventsByUserId: undefined } as unknown as EventAggregator
    const peeked: boolean[] = []
    const loads: string[] = []
    const counted: EventAggregator = {
      ...aggregator,
      getEventsByUserId: (id, options) => {
        loads.push(id)
        return aggregator.getEventsByUserId(id, options)
      },
      peekEventsByUserId: (id, options) => {
        const page = aggregator.peekEventsByUserId(id, options)
        peeked.push(page !== undefined)
        return page
      },
    }
    const answers = []
    for (const a of [counted, older]) {
      aggregator.users.clear('1')
      for (const id of ['1', '2']) aggregator.events.clear(id)
      const fastify = Fastify()
      cleanups.push(() => fastify.close())
      await fastify.register(userEvents, { client, aggregator: a })
      registerEventPageRoute(fastify, { url: '/users/:id/events' })
      const base = await fastify.listen({ host: '127.0.0.1', port: 0 })
      for (const url of [`${base}/users/1/events?limit=1&fields=name`, `${base}/users/1/events`]) {
        mock.resetCalls()
        const cold = await fetch(url)
        const coldCalls = Object.values(mock.calls()).reduce((x, y) => x + y, 0)
        const warm = await fetch(url)
        expect(coldCalls).toBeGreaterThan(0)
        expect(Object.values(mock.calls()).reduce((x, y) => x + y, 0)).toBe(coldCalls)
        const pick = (r: Response) =>
          ['content-type', 'x-total-count', 'link'].map((h) => r.headers.get(h))
        expect([warm.status, pick(warm), await warm.text()]).toEqual([
          cold.status,
          pick(cold),
          await cold.text(),
        ])
        answers.push(pick(warm))
      }
    }
    expect(answers[0]).toEqual([
      'application/json; charset=utf-8',
      '2',
      '</users/1/events?limit=1&offset=1&fields=name>; rel="next"',
    ])
    expect(answers.slice(2)).toEqual(answers.slice(0, 2))
    // Each cold request peeked in vain and loaded; each warm one was answered by the peek alone.
    expect(peeked).toEqual([false, true, false, true])
    expect(loads).toEqual(['1', '1'])
  })

  it.each(['0x10', '2e1', '%205', '500'])(
    'answers 400 for limit=%s before any upstream call',
    async (limit) => {
      const fastify = await app()
      registerEventPageRoute(fastify, { url: '/users/:id/events', maxLimit: 100 })
      mock.resetCalls()
      const res = await fastify.inject({ method: 'GET', url: `/users/1/events?limit=${limit}` })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toMatchObject({ code: 'INVALID_INPUT', error: 'Bad Request' })
      expect((res.json() as { message: string }).message).toMatch(/^querystring\.limit /)
      expect(Object.values(mock.calls()).reduce((a, b) => a + b, 0)).toBe(0)
    },
  )

  it("answers 400 for an unknown query parameter under Fastify's default Ajv (removeAdditional)", async () => {
    const fastify = await app()
    registerEventPageRoute(fastify, { url: '/users/:id/events' })
    mock.resetCalls()
    const res = await fastify.inject({ method: 'GET', url: '/users/1/events?limit=1&bogus=1' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({
      code: 'INVALID_INPUT',
      message:
        'querystring.bogus is not a parameter of this route (limit, offset, fields), got "1"',
    })
    expect(Object.values(mock.calls()).reduce((a, b) => a + b, 0)).toBe(0)
  })

  it('maps an unknown user to 404 and an open circuit to 503 with Retry-After', async () => {
    const fastify = await app({
      client: {
        baseUrl: server.url,
        retry: false,
        breaker: { failureThreshold: 1, windowMs: 60_000, resetTimeoutMs: 60_000 },
      },
      aggregator: { userCache: false, cache: false },
    })
    registerEventPageRoute(fastify, { url: '/users/:id/events' })
    const missing = await fastify.inject({ method: 'GET', url: '/users/999/events' })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toMatchObject({ code: 'USER_NOT_FOUND' })

    await server.close()
    const down = await fastify.inject({ method: 'GET', url: '/users/1/events' })
    expect(down.statusCode).toBe(503)
    const open = await fastify.inject({ method: 'GET', url: '/users/1/events' })
    expect(open.statusCode).toBe(503)
    expect(open.json()).toMatchObject({ code: 'UPSTREAM_CIRCUIT_OPEN' })
    expect(Number(open.headers['retry-after'])).toBeGreaterThanOrEqual(1)
  })

  it('answers problem+json when asked', async () => {
    const fastify = await app({ errorHandler: { format: 'problem+json' } })
    registerEventPageRoute(fastify, { url: '/users/:id/events' })
    const res = await fastify.inject({ method: 'GET', url: '/users/999/events' })
    expect(res.statusCode).toBe(404)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(res.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'User "999" was not found',
      code: 'USER_NOT_FOUND',
    })
  })

  it("never answers with the upstream's text, and logs it at debug", async () => {
    const lines: Record<string, unknown>[] = []
    const fastify = Fastify({
      logger: { level: 'debug', stream: { write: (l: string) => lines.push(JSON.parse(l)) } },
    })
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, {
      client: { baseUrl: server.url, retry: false },
      errorHandler: { format: 'problem+json' },
    })
    fastify.get<{ Params: { id: string } }>('/users/:id', async (request, reply) =>
      fastify.upstream.get(path`/getUserById/${request.params.id}`, reply.upstreamContext()),
    )
    const res = await fastify.inject({ method: 'GET', url: '/users/999' })
    expect(res.statusCode).toBe(404)
    // The mock answers `User "999" not found`: its words must not reach the caller.
    expect(res.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Not Found',
      code: 'UPSTREAM_NOT_FOUND',
    })
    expect(lines).toContainEqual(
      expect.objectContaining({ level: 20, upstreamMessage: 'User "999" not found' }),
    )
  })
})

describe('unknown routes', () => {
  it("answers 404 in problem+json with format problem+json, within the plugin's context only", async () => {
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(
      async (api) => {
        await api.register(userEvents, {
          client: { baseUrl: server.url, retry: false },
          errorHandler: { format: 'problem+json' },
        })
      },
      { prefix: '/api' },
    )
    const inside = await fastify.inject({ method: 'GET', url: '/api/nope?x=1' })
    expect(inside.statusCode).toBe(404)
    expect(inside.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(inside.json()).toEqual({
      type: 'about:blank',
      title: 'Not Found',
      status: 404,
      detail: 'Route GET:/api/nope not found',
      code: 'FST_ERR_NOT_FOUND',
    })
    // Outside the context the plugin was registered in, Fastify's own 404 is untouched.
    const outside = await fastify.inject({ method: 'GET', url: '/nope' })
    expect(outside.statusCode).toBe(404)
    expect(outside.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(outside.json()).toMatchObject({ error: 'Not Found', statusCode: 404 })
  })

  it('leaves the not-found handler to the app by default and with notFound: false', async () => {
    // The default (json) sets none, so an app may still set its own in the same context.
    const json = await app()
    json.setNotFoundHandler((_request, reply) => reply.code(404).send({ own: true }))
    expect((await json.inject({ method: 'GET', url: '/nope' })).json()).toEqual({ own: true })
    const optedOut = await app({ errorHandler: { format: 'problem+json', notFound: false } })
    const res = await optedOut.inject({ method: 'GET', url: '/nope' })
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    // Opting in with the json format answers the plugin's { error, message, code }.
    const optedIn = await app({ errorHandler: { notFound: true } })
    expect((await optedIn.inject({ method: 'GET', url: '/nope' })).json()).toEqual({
      error: 'Not Found',
      message: 'Route GET:/nope not found',
      code: 'FST_ERR_NOT_FOUND',
    })
  })
})

describe('lifecycle and options', () => {
  it('closes the client it created, and leaves a client it was given open', async () => {
    const given: UpstreamClient = createUpstreamClient({ baseUrl: server.url, retry: false })
    cleanups.push(() => given.close())
    const withGiven = Fastify()
    await withGiven.register(userEvents, { client: given })
    const withOwn = Fastify()
    await withOwn.register(userEvents, { client: { baseUrl: server.url, retry: false } })
    const own = withOwn.upstream
    await withGiven.close()
    await withOwn.close()
    await expect(given.get('/getUsers')).resolves.toHaveLength(3)
    const error = await own.get('/getUsers').catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'UPSTREAM_CLIENT_CLOSED' })
    // A call after close is the service's own bug: 500, never a 503 that looks like an outage.
    expect(toHttpProblem(error)).toMatchObject({ statusCode: 500, headers: {} })
  })

  it.each([
    [{}, 'Expected `client` to be an UpstreamClient or its options, got undefined'],
    [
      { client: { baseUrl: 'http://x' }, aggregator: 5 },
      'Expected `aggregator` to be an EventAggregator or its options, got 5',
    ],
    [
      { client: { baseUrl: 'http://x' }, errorHandler: { format: 'xml' } },
      'Expected `errorHandler` to be a boolean or { format: \'json\' | \'problem+json\', notFound?: boolean }, got {"format":"xml"}',
    ],
  ])('rejects bad options at registration: %j', async (options, message) => {
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    fastify.register(userEvents, options as never)
    const err = await fastify.ready().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(InvalidPluginOptionError)
    expect((err as Error).message).toBe(message)
  })

  it.each([
    [
      { client: { baseUrl: 'http://x' }, errorHandle: true },
      'errorHandle',
      'Unknown option `errorHandle`; expected one of client, aggregator, errorHandler, deadline, prefix, logLevel, logSerializers',
    ],
    [
      { client: { baseUrl: 'http://x' }, errorHandler: { format: 'json', notfound: true } },
      'errorHandler.notfound',
      'Unknown option `errorHandler.notfound`; expected one of format, notFound, rejectionLogIntervalMs',
    ],
    [
      { client: { baseUrl: 'http://x' }, deadline: { minDeadline: 5 } },
      'deadline.minDeadline',
      'Unknown option `deadline.minDeadline`; expected one of header, minDeadlineMs',
    ],
  ])('rejects an unknown option key at registration: %j', async (options, option, message) => {
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await expect(fastify.register(userEvents, options as never).ready()).rejects.toMatchObject({
      name: 'InvalidPluginOptionError',
      code: 'FASTIFY_USEREVENTS_INVALID_OPTION',
      option,
      message,
    })
  })

  it("accepts Fastify's own register options (prefix, logLevel, logSerializers) next to its own", async () => {
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, {
      client: { baseUrl: server.url, retry: false },
      prefix: '/api',
      logLevel: 'warn',
      logSerializers: { user: (value: unknown) => String(value) },
    })
    fastify.get('/users', async (_request, reply) =>
      fastify.upstream.get('/getUsers', reply.upstreamContext()),
    )
    const url = await fastify.listen({ host: '127.0.0.1', port: 0 })
    const res = await fetch(`${url}/users`)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { id: string }[]).map((u) => u.id)).toEqual(['1', '2', '3'])
  })

  it('rejects a page route on an instance without the plugin, and a URL without :id', async () => {
    const bare = Fastify()
    cleanups.push(() => bare.close())
    expect(() => registerEventPageRoute(bare, { url: '/users/:id/events' })).toThrow(
      InvalidPluginOptionError,
    )
    const fastify = await app()
    expect(() => registerEventPageRoute(fastify, { url: '/events' })).toThrow(
      'Expected `url` to be a route URL with an `:id` parameter, got "/events"',
    )
    expect(() => registerEventPageRoute(fastify, { url: '/u/:id', maxLimit: 0 })).toThrow(
      'Expected `maxLimit` to be a positive integer, got 0',
    )
  })

  it("refuses a page route maxLimit above its aggregator's at registration, and defaults to it", async () => {
    const fastify = await app({ aggregator: { maxLimit: 50 } })
    expect(() => registerEventPageRoute(fastify, { url: '/u/:id', maxLimit: 100 })).toThrow(
      "Expected `maxLimit` to be an integer between 1 and 50 (the aggregator's `maxLimit`), got 100",
    )
    registerEventPageRoute(fastify, { url: '/users/:id/events' })
    // Without its own maxLimit the route takes the aggregator's: the route's own 400 names the
    // query parameter, and the upstream is not asked.
    const res = await fastify.inject({ method: 'GET', url: '/users/1/events?limit=80' })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'INVALID_INPUT' })
    expect(mock.calls('getUserById')).toBe(0)
  })
})

describe('deadline propagation (x-request-timeout-ms)', () => {
  it('answers 504 at once, without calling the upstream, when less than minDeadlineMs is left', async () => {
    const upstream = await startRecordingUpstream()
    cleanups.push(() => upstream.close())
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, { client: { baseUrl: upstream.url, retry: false } })
    fastify.get('/users', async (_request, reply) =>
      fastify.upstream.get('/getUsers', reply.upstreamContext()),
    )
    const res = await fastify.inject({
      method: 'GET',
      url: '/users',
      headers: { 'x-request-timeout-ms': '9' },
    })
    expect(res.statusCode).toBe(504)
    expect(res.json()).toMatchObject({ code: 'DEADLINE_EXCEEDED' })
    expect(res.json().message).toContain('x-request-timeout-ms: 9')
    expect(upstream.requests).toHaveLength(0)
    // 10 ms left is served by default (whether the upstream makes it in 10 ms is another matter).
    const tight = await fastify.inject({
      method: 'GET',
      url: '/users',
      headers: { 'x-request-timeout-ms': '10' },
    })
    expect(tight.json().code).not.toBe('DEADLINE_EXCEEDED')
    const ok = await fastify.inject({
      method: 'GET',
      url: '/users',
      headers: { 'x-request-timeout-ms': '2000' },
    })
    expect(ok.statusCode).toBe(200)
  })

  it('caps every upstream call by what is left of the incoming deadline, paged routes included', async () => {
    const upstream = await startRecordingUpstream((url) =>
      url.startsWith('/getUserById/')
        ? { id: '1', userName: 'a', email: 'a@x', events: ['1', '2'] }
        : { id: url.split('/').pop(), name: 'e', userId: '1' },
    )
    cleanups.push(() => upstream.close())
    const fastify = Fastify()
    cleanups.push(() => fastify.close())
    await fastify.register(userEvents, {
      client: { baseUrl: upstream.url, retry: false, deadlineMs: 2_000, timeoutMs: 1_500 },
      aggregator: { cache: false, userCache: false },
    })
    fastify.get('/user', async (_request, reply) => {
      await fastify.upstream.get('/getUserById/1', reply.upstreamContext())
      return fastify.upstream.get('/getUserById/1', reply.upstreamContext())
    })
    registerEventPageRoute(fastify, { url: '/users/:id/events' })
    const sent = () => upstream.requests.map((r) => Number(r.headers['x-request-timeout-ms']))

    await fastify.inject({
      method: 'GET',
      url: '/user',
      headers: { 'x-request-timeout-ms': '300' },
    })
    const [first, second] = sent()
    expect(first).toBeLessThanOrEqual(300)
    expect(first).toBeGreaterThan(0)
    expect(second).toBeLessThanOrEqual(first as number)

    upstream.requests.length = 0
    const page = await fastify.inject({
      method: 'GET',
      url: '/users/1/events',
      headers: { 'x-request-timeout-ms': '400' },
    })
    expect(page.statusCode).toBe(200)
    expect(sent()).toHaveLength(3)
    for (const ms of sent()) expect(ms).toBeLessThanOrEqual(400)

    // A long incoming deadline never extends the client's own: its 1.5 s attempt budget goes out.
    upstream.requests.length = 0
    await fastify.inject({
      method: 'GET',
      url: '/user',
      headers: { 'x-request-timeout-ms': '60000' },
    })
    expect(sent()[0]).toBe(1_500)
    // Without the header, or with a malformed one, the client's own deadline applies.
    upstream.requests.length = 0
    await fastify.inject({ method: 'GET', url: '/user' })
    await fastify.inject({
      method: 'GET',
      url: '/user',
      headers: { 'x-request-timeout-ms': 'soon' },
    })
    expect(sent()).toEqual([1_500, 1_500, 1_500, 1_500])
  })

  it('can be turned off or renamed, and validates its options', async () => {
    const upstream = await startRecordingUpstream()
    cleanups.push(() => upstream.close())
    const off = Fastify()
    cleanups.push(() => off.close())
    await off.register(userEvents, {
      client: { baseUrl: upstream.url, retry: false },
      deadline: false,
    })
    off.get('/x', async (_request, reply) => off.upstream.get('/x', reply.upstreamContext()))
    const res = await off.inject({
      method: 'GET',
      url: '/x',
      headers: { 'x-request-timeout-ms': '1' },
    })
    expect(res.statusCode).toBe(200)

    const renamed = Fastify()
    cleanups.push(() => renamed.close())
    await renamed.register(userEvents, {
      client: { baseUrl: upstream.url, retry: false },
      deadline: { header: 'Grpc-Timeout-Ms', minDeadlineMs: 50 },
    })
    renamed.get('/x', async (_request, reply) =>
      renamed.upstream.get('/x', reply.upstreamContext()),
    )
    const late = await renamed.inject({
      method: 'GET',
      url: '/x',
      headers: { 'grpc-timeout-ms': '49' },
    })
    expect(late.statusCode).toBe(504)

    for (const [deadline, message] of [
      [
        { minDeadlineMs: -1 },
        'Expected `deadline.minDeadlineMs` to be a non-negative number, got -1',
      ],
      [{ header: 'a b' }, 'Expected `deadline.header` to be a header name, got "a b"'],
      ['yes', 'Expected `deadline` to be an object or false, got "yes"'],
    ] as const) {
      const bad = Fastify()
      cleanups.push(() => bad.close())
      await expect(
        bad.register(userEvents, {
          client: { baseUrl: upstream.url },
          deadline: deadline as never,
        }),
      ).rejects.toThrow(message)
    }
  })
})
