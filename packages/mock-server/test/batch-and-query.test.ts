import { getResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { createMockUpstream, generateUserWithEvents, type MockUpstream } from '../src/index.js'

const mock: MockUpstream = createMockUpstream({
  delays: 0,
  mode: 'healthy',
  data: generateUserWithEvents(150, { userId: '7' }),
})
const get = async (path: string) => {
  const res = (await getResponse(mock.handlers, new Request(`${mock.baseUrl}${path}`))) as Response
  return { status: res.status, headers: res.headers, body: (await res.json()) as unknown }
}
const ids = (body: unknown) => (body as { id: string }[]).map((e) => e.id)

describe('GET /getEventsByIds', () => {
  it('answers the known events in request order and names the missing ones', async () => {
    const res = await get('/getEventsByIds?ids=3,1,404,2,1')
    expect(res.status).toBe(200)
    expect(ids(res.body)).toEqual(['3', '1', '2'])
    expect(res.headers.get('x-missing-ids')).toBe('404')
    expect(res.headers.get('x-total-count')).toBe('3')
    expect(mock.calls('getEventsByIds')).toBe(1)
  })

  it('accepts 100 ids and rejects 101 with 400', async () => {
    const list = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1)).join(',')
    expect(ids((await get(`/getEventsByIds?ids=${list(100)}`)).body)).toHaveLength(100)
    const res = await get(`/getEventsByIds?ids=${list(101)}`)
    expect(res).toMatchObject({
      status: 400,
      body: { error: 'Bad Request', message: 'Expected at most 100 ids, got 101' },
    })
  })

  it.each(['', '?ids=', '?ids=1,,2'])('answers 400 for ids %j', async (query) => {
    expect((await get(`/getEventsByIds${query}`)).status).toBe(400)
  })

  it('applies fields, sort, limit and offset', async () => {
    const res = await get('/getEventsByIds?ids=1,2,10,3&sort=-id&limit=2&offset=1&fields=name')
    expect(res.body).toEqual([
      { id: '3', name: 'event-3' },
      { id: '2', name: 'event-2' },
    ])
    expect(res.headers.get('x-total-count')).toBe('4')
  })
})

describe('list query parameters on GET /getEvents', () => {
  it('pages, sorts numerically, filters and projects', async () => {
    const res = await get('/getEvents?userId=7&sort=-id&offset=5&limit=3&fields=userId')
    expect(res.body).toEqual([
      { id: '145', userId: '7' },
      { id: '144', userId: '7' },
      { id: '143', userId: '7' },
    ])
    expect(res.headers.get('x-total-count')).toBe('150')
    expect(ids((await get('/getEvents?userId=8')).body)).toEqual([])
  })

  it.each([
    [
      'fields=id,color',
      'Expected `fields` to be a comma-separated list of id, name, userId, details',
    ],
    ['fields=', 'Expected `fields`'],
    ['sort=color', 'Expected `sort` to be fields among'],
    ['limit=0', 'Expected `limit` to be an integer from 1 to 1000, got "0"'],
    ['limit=abc', 'got "abc"'],
    ['limit=1001', 'got "1001"'],
    ['offset=-1', 'Expected `offset` to be a non-negative integer, got "-1"'],
    ['offset=1.5', 'got "1.5"'],
    ['userId=', 'Expected `userId` to be a non-empty user id'],
  ])('answers 400 for %s', async (query, message) => {
    for (const path of ['/getEvents', '/getEventsByIds?ids=1&']) {
      const sep = path.includes('?') ? '' : '?'
      const res = await get(`${path}${sep}${query}`)
      expect(res.status).toBe(400)
      expect(res.body).toEqual({ error: 'Bad Request', message: expect.stringContaining(message) })
    }
  })

  it('ignores unknown parameters', async () => {
    expect(ids((await get('/getEvents?limit=2&_=123')).body)).toEqual(['1', '2'])
  })
})
