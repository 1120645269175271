import { getResponse } from 'msw'
import { describe, expect, it } from 'vitest'
import { createMockUpstream, type MockUpstream } from '../src/index.js'

const send = (mock: MockUpstream, path: string, init?: RequestInit) =>
  getResponse(mock.handlers, new Request(`${mock.baseUrl}${path}`, init)) as Promise<Response>
const addEvent = (mock: MockUpstream, body: object = { name: 'e', userId: '1' }) =>
  send(mock, '/addEvent', { method: 'POST', body: JSON.stringify(body) })

/** The sequence of outcomes of `n` getUsers calls: 'ok' or 'drop' (network error). */
async function outcomes(mock: MockUpstream, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const res = await send(mock, '/getUsers')
    out.push(res.type === 'error' ? 'drop' : 'ok')
  }
  return out
}

describe('seeded network errors', () => {
  it('drops about 5% of getUsers/getEvents calls, identically for the same seed', async () => {
    const a = await outcomes(createMockUpstream({ delays: 0, seed: 42 }), 200)
    const b = await outcomes(createMockUpstream({ delays: 0, seed: 42 }), 200)
    const c = await outcomes(createMockUpstream({ delays: 0, seed: 7 }), 200)
    expect(a).toEqual(b)
    expect(a).not.toEqual(c)
    const drops = a.filter((o) => o === 'drop').length
    expect(drops).toBeGreaterThanOrEqual(3)
    expect(drops).toBeLessThanOrEqual(25)
  })

  it('never drops the routes the original never dropped', async () => {
    const mock = createMockUpstream({ delays: 0, networkErrorRate: 1 })
    expect((await send(mock, '/getUserById/1')).status).toBe(200)
    expect((await send(mock, '/getEventById/1')).status).toBe(200)
    expect((await send(mock, '/getEvents')).type).toBe('error')
  })

  it('two instances with one seed do not share a generator', async () => {
    const a = createMockUpstream({ delays: 0, seed: 3 })
    const b = createMockUpstream({ delays: 0, seed: 3 })
    const interleaved: string[] = []
    const alone = await outcomes(createMockUpstream({ delays: 0, seed: 3 }), 50)
    for (let i = 0; i < 50; i++) {
      interleaved.push(...(await outcomes(a, 1)))
      await outcomes(b, 1)
    }
    expect(interleaved).toEqual(alone)
  })
})

describe('modes', () => {
  it('defaults to flapping and switches at run time through the API', async () => {
    const mock = createMockUpstream({ delays: 0, networkErrorRate: 1 })
    expect(mock.mode).toBe('flapping')
    expect((await send(mock, '/getUsers')).type).toBe('error')
    mock.setMode('healthy')
    expect((await send(mock, '/getUsers')).status).toBe(200)
    for (let i = 0; i < 20; i++) expect((await addEvent(mock)).status).toBe(200)
    mock.setMode('down')
    for (const path of [
      '/getUsers',
      '/getUserById/1',
      '/getEvents',
      '/getEventById/1',
      '/getEventsByIds?ids=1',
    ]) {
      const res = await send(mock, path)
      expect(res.status).toBe(503)
      expect(await res.json()).toMatchObject({
        success: false,
        error: 'Service temporarily unavailable',
      })
    }
    expect((await addEvent(mock)).status).toBe(503)
    expect(mock.store.listEvents()).toHaveLength(24)
  })

  it('restarts the 5-then-10 cycle when switched back to flapping', async () => {
    const mock = createMockUpstream({ delays: 0 })
    for (let i = 0; i < 7; i++) await addEvent(mock)
    mock.setMode('healthy')
    mock.setMode('flapping')
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await addEvent(mock)).status)
    expect(statuses).toEqual([200, 200, 200, 200, 200, 503])
  })

  it('switches through the admin route, which is never counted nor failed', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'down' })
    const post = (body: string) => send(mock, '/__admin/mode', { method: 'POST', body })
    expect(await (await send(mock, '/__admin/mode')).json()).toEqual({ mode: 'down' })
    const res = await post('{"mode":"healthy"}')
    expect(await res.json()).toEqual({ mode: 'healthy', previous: 'down' })
    expect(mock.mode).toBe('healthy')
    const bad = await post('{"mode":"sideways"}')
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({
      error: 'Bad Request',
      message:
        'Expected `mode` to be one of healthy, down, flapping, slow, brownout, got "sideways"',
    })
    await send(mock, '/getUsers')
    const calls = (await (await send(mock, '/__admin/calls')).json()) as { calls: object }
    expect(calls.calls).toMatchObject({ getUsers: 1, addEvent: 0 })
    await send(mock, '/__admin/calls/reset', { method: 'POST' })
    expect(mock.calls('getUsers')).toBe(0)
  })

  it('rejects an unknown mode in setMode', () => {
    const mock = createMockUpstream()
    expect(() => mock.setMode('off' as never)).toThrow(
      'Expected `mode` to be one of healthy, down, flapping, slow, brownout, got "off"',
    )
    expect(mock.mode).toBe('flapping')
  })
})
