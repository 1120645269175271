import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dataWithBigUser, startStack, type TestStack } from './helpers.js'

let stack: TestStack
const inject = (options: InjectOptions) => stack.service.app.inject(options)

beforeAll(async () => {
  stack = await startStack({ mock: { data: dataWithBigUser(120) } })
})
afterAll(() => stack.close())

describe('the original routes', () => {
  it('GET /getUsers answers every user', async () => {
    const res = await inject({ method: 'GET', url: '/getUsers' })
    expect(res.statusCode).toBe(200)
    const users = res.json() as { id: string; events: string[] }[]
    expect(users.map((u) => u.id)).toEqual(['1', '2', '3', '9'])
    expect(users[0]?.events).toEqual(['1', '2'])
  })

  it('GET /getEvents answers every event', async () => {
    const res = await inject({ method: 'GET', url: '/getEvents' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toHaveLength(124)
  })

  it('GET /getEventsByUserId/:id keeps its array body and adds the page headers', async () => {
    const res = await inject({ method: 'GET', url: '/getEventsByUserId/1' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual([
      { id: '1', name: 'Login', userId: '1', details: 'User logged in' },
      { id: '2', name: 'Purchase', userId: '1', details: 'User purchased an item' },
    ])
    expect(res.headers['x-total-count']).toBe('2')
    expect(res.headers.link).toBeUndefined()
    expect(res.headers['x-missing-event-ids']).toBeUndefined()
  })

  it('pages a big user with X-Total-Count and RFC 8288 Link headers', async () => {
    const first = await inject({ method: 'GET', url: '/getEventsByUserId/9?limit=50' })
    expect(first.statusCode).toBe(200)
    const items = first.json() as { id: string }[]
    expect(items.map((e) => e.id)).toEqual(Array.from({ length: 50 }, (_, i) => `e${i + 1}`))
    expect(first.headers['x-total-count']).toBe('120')
    expect(first.headers.link).toBe('</getEventsByUserId/9?limit=50&offset=50>; rel="next"')

    const middle = await inject({ method: 'GET', url: '/getEventsByUserId/9?limit=50&offset=50' })
    expect(middle.headers.link).toBe(
      '</getEventsByUserId/9?limit=50&offset=100>; rel="next", </getEventsByUserId/9?limit=50&offset=0>; rel="prev"',
    )

    const last = await inject({ method: 'GET', url: '/getEventsByUserId/9?limit=50&offset=100' })
    expect((last.json() as unknown[]).length).toBe(20)
    expect(last.headers.link).toBe('</getEventsByUserId/9?limit=50&offset=50>; rel="prev"')
  })

  it('projects with fields= and keeps the projection in the Link', async () => {
    const res = await inject({ method: 'GET', url: '/getEventsByUserId/9?limit=2&fields=name' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^application\/json/)
    expect(res.json()).toEqual([
      { id: 'e1', name: 'event 1' },
      { id: 'e2', name: 'event 2' },
    ])
    expect(res.headers.link).toBe('</getEventsByUserId/9?limit=2&offset=2&fields=name>; rel="next"')
  })

  it('GET /users/:id/events answers the whole page object', async () => {
    const res = await inject({
      method: 'GET',
      url: '/users/9/events?limit=3&offset=117&fields=userId',
    })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({
      items: [
        { id: 'e118', userId: '9' },
        { id: 'e119', userId: '9' },
        { id: 'e120', userId: '9' },
      ],
      total: 120,
      limit: 3,
      offset: 117,
      missing: [],
    })
    expect(res.headers['x-total-count']).toBe('120')
  })

  it('an unknown user answers 404 with a JSON error', async () => {
    const res = await inject({ method: 'GET', url: '/getEventsByUserId/777' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ error: 'Not Found', code: 'USER_NOT_FOUND' })
    expect(res.json().message).toContain('777')
  })
})

describe('POST /addEvent', () => {
  it('generates the id and answers 201 with the created event', async () => {
    const res = await inject({
      method: 'POST',
      url: '/addEvent',
      payload: { name: 'Signup', userId: '3', details: 'from the test' },
    })
    expect(res.statusCode).toBe(201)
    const event = res.json() as { id: string }
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      name: 'Signup',
      userId: '3',
      details: 'from the test',
    })
    expect(stack.mock.store.getEvent(event.id)).toMatchObject({ name: 'Signup', userId: '3' })
    expect(stack.mock.store.getUser('3')?.events).toContain(event.id)
  })

  it('maps a caller Idempotency-Key to one event, however often it is retried', async () => {
    const send = () =>
      inject({
        method: 'POST',
        url: '/addEvent',
        headers: { 'idempotency-key': 'order-4711' },
        payload: { name: 'Retried', userId: '2' },
      })
    const first = await send()
    const second = await send()
    expect(first.statusCode).toBe(201)
    expect(second.statusCode).toBe(201)
    expect(second.json()).toEqual(first.json())
    const stored = stack.mock.store.listEvents().filter((e) => e.name === 'Retried')
    expect(stored).toHaveLength(1)
  })

  it('answers 404 for an unknown user and stores nothing', async () => {
    const before = stack.mock.store.listEvents().length
    const res = await inject({
      method: 'POST',
      url: '/addEvent',
      payload: { name: 'x', userId: '404' },
    })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toMatchObject({ error: 'Not Found' })
    expect(stack.mock.store.listEvents().length).toBe(before)
  })
})

describe('input validation answers 400 naming the bad value', () => {
  const cases: [string, string, unknown, string][] = [
    ['GET', '/getEventsByUserId/a%20b', undefined, 'params.id must match pattern'],
    ['GET', '/getEventsByUserId/1?limit=0', undefined, 'querystring.limit must be >= 1, got 0'],
    [
      'GET',
      '/getEventsByUserId/1?limit=201',
      undefined,
      'querystring.limit must be <= 200, got 201',
    ],
    [
      'GET',
      '/getEventsByUserId/1?limit=ten',
      undefined,
      'querystring.limit must be an integer written in digits, got "ten"',
    ],
    [
      'GET',
      '/users/1/events?offset=-1',
      undefined,
      'querystring.offset must be an integer written in digits, got "-1"',
    ],
    // Ajv's integer coercion would read these as 16, 20 and 5; the page routes take digits only.
    [
      'GET',
      '/users/1/events?limit=0x10',
      undefined,
      'querystring.limit must be an integer written in digits, got "0x10"',
    ],
    ['GET', '/users/1/events?limit=2e1', undefined, 'digits, got "2e1"'],
    ['GET', '/users/1/events?limit=%205', undefined, 'digits, got " 5"'],
    ['GET', '/users/1/events?fields=name,color', undefined, 'got "name,color"'],
    [
      'GET',
      '/users/1/events?sort=name',
      undefined,
      'querystring must NOT have additional property "sort"',
    ],
    ['GET', '/getUsers?x=1', undefined, 'querystring must NOT have additional property "x"'],
    ['POST', '/addEvent', { userId: '1' }, 'body must have required property "name"'],
    ['POST', '/addEvent', { name: 'a' }, 'body must have required property "userId"'],
    ['POST', '/addEvent', { name: 123, userId: '1' }, 'body.name must be string, got 123'],
    [
      'POST',
      '/addEvent',
      { name: 'a', userId: true },
      'body.userId must be string,integer, got true',
    ],
    [
      'POST',
      '/addEvent',
      { name: 'a', userId: 1.5 },
      'body.userId must be string,integer, got 1.5',
    ],
    ['POST', '/addEvent', { name: 'a', userId: -1 }, 'body.userId must be >= 0, got -1'],
    [
      'POST',
      '/addEvent',
      { name: '', userId: '1' },
      'body.name must NOT have fewer than 1 characters, got ""',
    ],
    [
      'POST',
      '/addEvent',
      { name: 'a', userId: '1', color: 'red' },
      'body must NOT have additional property "color"',
    ],
    ['POST', '/addEvent', [1, 2], 'body must be object, got [1,2]'],
  ]
  it.each(cases)('%s %s %j', async (method, url, payload, message) => {
    const before = stack.mock.calls()
    const res = await inject({
      method: method as 'GET' | 'POST',
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ error: 'Bad Request', code: 'INVALID_INPUT' })
    expect(res.json().message).toContain(message)
    // Rejected before any upstream work.
    expect(stack.mock.calls()).toEqual(before)
  })

  it('validates the Idempotency-Key header', async () => {
    const res = await inject({
      method: 'POST',
      url: '/addEvent',
      headers: { 'idempotency-key': 'has space' },
      payload: { name: 'a', userId: '1' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('headers.idempotency-key must match pattern')
    expect(res.json().message).toContain('got "has space"')
  })

  it('rejects malformed JSON and a missing body', async () => {
    const malformed = await inject({
      method: 'POST',
      url: '/addEvent',
      headers: { 'content-type': 'application/json' },
      payload: '{"name":',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.json()).toMatchObject({ error: 'Bad Request' })
    const empty = await inject({ method: 'POST', url: '/addEvent' })
    expect(empty.statusCode).toBe(400)
    expect(empty.json().message).toContain('body')
  })

  it('rejects a body over the limit with 413 naming the limit', async () => {
    const res = await inject({
      method: 'POST',
      url: '/addEvent',
      payload: { name: 'big', userId: '1', details: 'x'.repeat(20_000) },
    })
    expect(res.statusCode).toBe(413)
    expect(res.json()).toMatchObject({
      error: 'Payload Too Large',
      code: 'FST_ERR_CTP_BODY_TOO_LARGE',
    })
  })

  it('rejects an oversized field inside the limit with 400', async () => {
    const res = await inject({
      method: 'POST',
      url: '/addEvent',
      payload: { name: 'n'.repeat(201), userId: '1' },
    })
    expect(res.statusCode).toBe(400)
    expect(res.json().message).toContain('body.name must NOT have more than 200 characters')
  })

  it('answers 404 JSON for an unknown route', async () => {
    const res = await inject({ method: 'GET', url: '/nope?x=1' })
    expect(res.statusCode).toBe(404)
    expect(res.json()).toEqual({ error: 'Not Found', message: 'Route GET /nope not found' })
  })
})

describe('operations routes', () => {
  it('GET /healthz is alive', async () => {
    const res = await inject({ method: 'GET', url: '/healthz' })
    expect(res.statusCode).toBe(200)
    // Byte for byte what the response schema's serializer gave, with the same type.
    expect(res.body).toBe('{"status":"ok"}')
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(res.headers['x-request-id']).toBeDefined()
    // Its query is still validated.
    expect((await inject({ method: 'GET', url: '/healthz?x=1' })).statusCode).toBe(400)
  })

  it('GET /readyz reports the circuit', async () => {
    const res = await inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ status: 'ready', upstream: { name: 'events', circuit: 'closed' } })
  })
})

describe('request ids', () => {
  it('reuses a well-formed incoming x-request-id and replaces a malformed one', async () => {
    const kept = await inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'abc-123' },
    })
    expect(kept.headers['x-request-id']).toBe('abc-123')
    const replaced = await inject({
      method: 'GET',
      url: '/healthz',
      headers: { 'x-request-id': 'bad id\u0007' },
    })
    expect(replaced.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/)
  })
})
