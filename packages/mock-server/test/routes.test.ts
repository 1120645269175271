import { setupServer } from 'msw/node'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createMockUpstream, type MockUpstream } from '../src/index.js'

// One interceptor for the file; each test gets a fresh mock through `server.resetHandlers`.
const server = setupServer()
let mock: MockUpstream
const base = 'http://event.com'

beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())
beforeEach(() => {
  mock = createMockUpstream({ delays: 0, mode: 'healthy' })
  server.resetHandlers(...mock.handlers)
})
afterEach(() => server.resetHandlers())

const get = async (path: string) => {
  const res = await fetch(`${base}${path}`)
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown }
}
const post = async (path: string, body: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown }
}

describe('read routes', () => {
  it('GET /getUsers lists the three seed users with unique, consistent ids', async () => {
    const { status, body } = await get('/getUsers')
    expect(status).toBe(200)
    expect(body).toEqual([
      { id: '1', userName: 'Alice', email: 'alice@example.com', events: ['1', '2'] },
      { id: '2', userName: 'Bob', email: 'bob@example.com', events: ['3'] },
      { id: '3', userName: 'Charlie', email: 'charlie@example.com', events: ['4'] },
    ])
    const events = (await get('/getEvents')).body as { id: string; userId: string }[]
    expect(events.map((e) => e.id)).toEqual(['1', '2', '3', '4'])
    for (const user of body as { id: string; events: string[] }[]) {
      for (const id of user.events) expect(events.find((e) => e.id === id)?.userId).toBe(user.id)
    }
  })

  it('GET /getUserById/:id answers the user, or 404 JSON for an unknown id', async () => {
    expect((await get('/getUserById/2')).body).toMatchObject({ id: '2', events: ['3'] })
    const missing = await get('/getUserById/99')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: 'Not Found', message: 'User "99" not found' })
  })

  it('GET /getEventById/:id answers the event, or 404 JSON for an unknown id', async () => {
    expect((await get('/getEventById/4')).body).toEqual({
      id: '4',
      name: 'Signup',
      userId: '3',
      details: 'User signed up',
    })
    const missing = await get('/getEventById/nope')
    expect(missing.status).toBe(404)
    expect(missing.body).toEqual({ error: 'Not Found', message: 'Event "nope" not found' })
  })

  it('makes fetch reject on a network error', async () => {
    mock = createMockUpstream({ delays: 0, networkErrorRate: 1 })
    server.resetHandlers(...mock.handlers)
    await expect(fetch(`${base}/getEvents`)).rejects.toThrow(TypeError)
    expect(mock.calls('getEvents')).toBe(1)
  })

  it('counts calls per route and resets them', async () => {
    await get('/getUsers')
    await get('/getUserById/1')
    await get('/getUserById/9')
    expect(mock.calls('getUserById')).toBe(2)
    expect(mock.calls()).toEqual({
      getUsers: 1,
      getUserById: 2,
      getEvents: 0,
      getEventById: 0,
      getEventsByIds: 0,
      addEvent: 0,
    })
    mock.resetCalls()
    expect(mock.calls('getUserById')).toBe(0)
  })
})

describe('POST /addEvent', () => {
  it('stores the event and appends it to the user', async () => {
    const res = await post('/addEvent', { id: '10', name: 'Click', userId: '2', details: 'x' })
    expect(res).toMatchObject({ status: 200, body: { success: true, id: '10' } })
    expect(mock.store.getEvent('10')).toEqual({
      id: '10',
      name: 'Click',
      userId: '2',
      details: 'x',
    })
    expect(mock.store.getUser('2')?.events).toEqual(['3', '10'])
  })

  it('assigns a fresh id when none is given', async () => {
    const res = await post('/addEvent', { name: 'Click', userId: '1' })
    expect(res.body).toEqual({ success: true, id: '5' })
    expect(mock.store.getUser('1')?.events).toEqual(['1', '2', '5'])
  })

  it('answers 404 JSON for an unknown user and stores nothing', async () => {
    const res = await post('/addEvent', { id: '10', name: 'Click', userId: '42' })
    expect(res.status).toBe(404)
    expect(res.body).toEqual({ error: 'Not Found', message: 'User "42" not found' })
    expect(mock.store.listEvents()).toHaveLength(4)
  })

  it.each([
    ['not JSON', '{oops', 'Expected a JSON object body'],
    ['an array', [], 'Expected a JSON object body'],
    ['a missing name', { userId: '1' }, 'Expected `name` to be a non-empty string, got undefined'],
    [
      'a numeric userId',
      { name: 'a', userId: 1 },
      'Expected `userId` to be a non-empty string, got 1',
    ],
    [
      'a numeric id',
      { id: 7, name: 'a', userId: '1' },
      'Expected `id` to be a non-empty string, got 7',
    ],
    [
      'non-string details',
      { name: 'a', userId: '1', details: {} },
      'Expected `details` to be a string',
    ],
  ])('answers 400 for %s', async (_label, body, message) => {
    const res = await post('/addEvent', body)
    expect(res.status).toBe(400)
    expect(res.body).toEqual({ error: 'Bad Request', message: expect.stringContaining(message) })
  })

  it('answers 409 for a duplicate id and never stores it twice', async () => {
    const res = await post('/addEvent', { id: '1', name: 'Again', userId: '1' })
    expect(res.status).toBe(409)
    expect(res.body).toEqual({ error: 'Conflict', message: 'Event "1" already exists' })
    expect(mock.store.getEvent('1')?.name).toBe('Login')
    expect(mock.store.getUser('1')?.events).toEqual(['1', '2'])
  })
})

describe('the flapping addEvent cycle', () => {
  it('answers exactly 5 successes then 10 503s, then starts again', async () => {
    mock = createMockUpstream({ delays: 0, mode: 'flapping' })
    server.resetHandlers(...mock.handlers)
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) {
      const res = await post('/addEvent', { id: `n${i}`, name: 'e', userId: '1' })
      statuses.push(res.status)
      if (res.status === 503) {
        expect(res.body).toEqual({
          success: false,
          error: 'Service temporarily unavailable',
          message: 'Event API is experiencing high load',
        })
      }
    }
    const cycle = [...Array(5).fill(200), ...Array(10).fill(503)]
    expect(statuses).toEqual([...cycle, ...cycle])
    expect(mock.store.listEvents()).toHaveLength(4 + 10)
    expect(mock.calls('addEvent')).toBe(30)
  })

  it('follows a custom cycle', async () => {
    mock = createMockUpstream({ delays: 0, failureCycle: { succeed: 1, fail: 2 } })
    server.resetHandlers(...mock.handlers)
    const statuses: number[] = []
    for (let i = 0; i < 6; i++)
      statuses.push((await post('/addEvent', { name: 'e', userId: '1' })).status)
    expect(statuses).toEqual([200, 503, 503, 200, 503, 503])
  })
})
