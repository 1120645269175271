import { Agent, request } from 'node:http'
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { createMockUpstream, type MockServerHandle } from '../src/index.js'

let handle: MockServerHandle | undefined
let agent: Agent | undefined
afterEach(async () => {
  agent?.destroy()
  agent = undefined
  await handle?.close()
  handle = undefined
})

interface Answer {
  status: number
  body: string
  socket: unknown
}

/** A node:http request through `agent`; resolves the answer or rejects on a socket error. */
function call(url: string, a: Agent, options: { method?: string; body?: string } = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = request(url, { agent: a, method: options.method ?? 'GET' }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        body += chunk
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, socket: req.socket }))
      res.on('error', reject)
    })
    req.on('error', reject)
    if (options.body !== undefined) req.setHeader('content-type', 'application/json')
    req.end(options.body)
  })
}

describe('listen()', () => {
  it('serves the handlers on 127.0.0.1 with keep-alive and 200 concurrent requests', async () => {
    const mock = createMockUpstream({ delays: { getEventById: 5 }, mode: 'healthy' })
    handle = await mock.listen()
    expect(handle.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    agent = new Agent({ keepAlive: true, maxSockets: 50 })
    const ids = Array.from({ length: 200 }, (_, i) => String((i % 4) + 1))
    const answers = await Promise.all(
      ids.map((id) => call(`${handle!.url}/getEventById/${id}`, agent!)),
    )
    expect(answers.every((a) => a.status === 200)).toBe(true)
    expect(answers.map((a) => JSON.parse(a.body).id)).toEqual(ids)
    // 200 requests rode at most 50 kept-alive connections.
    expect(new Set(answers.map((a) => a.socket)).size).toBeLessThanOrEqual(50)
    expect(mock.calls('getEventById')).toBe(200)
    expect(mock.highWater('getEventById')).toBeGreaterThan(1)
    expect(mock.highWater('getEventById')).toBeLessThanOrEqual(50)
    expect(mock.inFlight('getEventById')).toBe(0)
  })

  it('passes POST bodies, status codes and headers through', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
    handle = await mock.listen()
    agent = new Agent({ keepAlive: true })
    const ok = await call(`${handle.url}/addEvent`, agent, {
      method: 'POST',
      body: JSON.stringify({ id: 'x1', name: 'n', userId: '3' }),
    })
    expect(ok).toMatchObject({ status: 200, body: '{"success":true,"id":"x1"}' })
    const bad = await call(`${handle.url}/addEvent`, agent, { method: 'POST', body: '{' })
    expect(bad.status).toBe(400)
    const unknown = await call(`${handle.url}/nowhere`, agent)
    expect(unknown.status).toBe(404)
    expect(JSON.parse(unknown.body)).toMatchObject({ error: 'Not Found' })
    expect(mock.store.getUser('3')?.events).toEqual(['4', 'x1'])
  })

  it('drops the connection for a network error', async () => {
    const mock = createMockUpstream({ delays: 0, networkErrorRate: 1 })
    handle = await mock.listen()
    agent = new Agent({ keepAlive: true })
    await expect(call(`${handle.url}/getUsers`, agent)).rejects.toMatchObject({
      code: 'ECONNRESET',
    })
    expect(mock.calls('getUsers')).toBe(1)
  })

  it('aborts a pending delay when the client disconnects, and close() does not wait for it', async () => {
    const mock = createMockUpstream({ delays: { getEventById: 60_000 } })
    handle = await mock.listen()
    agent = new Agent({ keepAlive: true })
    const pending = call(`${handle.url}/getEventById/1`, agent).catch((e: Error) => e)
    await until(() => mock.inFlight('getEventById') === 1)
    agent.destroy()
    expect(await pending).toBeInstanceOf(Error)
    await until(() => mock.inFlight('getEventById') === 0)
    // A second pending request is cut by close() itself.
    agent = new Agent({ keepAlive: true })
    const second = call(`${handle.url}/getEventById/1`, agent).catch((e: Error) => e)
    await until(() => mock.inFlight('getEventById') === 1)
    await handle.close()
    handle = undefined
    expect(await second).toBeInstanceOf(Error)
    await until(() => mock.inFlight('getEventById') === 0)
  })

  it('closes idle keep-alive connections and serves a base path', async () => {
    const mock = createMockUpstream({
      baseUrl: 'http://event.com/api/',
      delays: 0,
      mode: 'healthy',
    })
    handle = await mock.listen()
    expect(handle.url).toMatch(/\/api$/)
    agent = new Agent({ keepAlive: true })
    const url = handle.url
    const first = await call(`${url}/getUsers`, agent)
    expect(first.status).toBe(200)
    const socket = first.socket as Socket
    expect(socket.destroyed).toBe(false)
    await handle.close()
    handle = undefined
    // The idle kept-alive socket was closed by the server, and the port no longer accepts: the
    // same agent can neither reuse its connection nor open a new one.
    await until(() => socket.destroyed)
    await expect(call(`${url}/getUsers`, agent)).rejects.toMatchObject({ code: 'ECONNREFUSED' })
  })

  it('runs two instances side by side without sharing state', async () => {
    const a = createMockUpstream({ delays: 0, mode: 'healthy' })
    const b = createMockUpstream({ delays: 0, mode: 'down' })
    handle = await a.listen()
    const hb = await b.listen()
    agent = new Agent({ keepAlive: true })
    try {
      expect((await call(`${handle.url}/getUsers`, agent)).status).toBe(200)
      expect((await call(`${hb.url}/getUsers`, agent)).status).toBe(503)
      expect([a.calls('getUsers'), b.calls('getUsers')]).toEqual([1, 1])
    } finally {
      await hb.close()
    }
  })
})

/** Polls a condition on the event loop (no fixed sleeps); fails the test after 2 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not reached')
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe('requests()', () => {
  it('records the latest requests with their headers, bounded by recordRequests', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy', recordRequests: 2 })
    handle = await mock.listen()
    for (const id of ['1', '2', '3']) {
      await fetch(`${handle.url}/getEventById/${id}`, { headers: { traceparent: `t${id}` } })
    }
    expect(mock.requests()).toEqual([
      {
        route: 'getEventById',
        method: 'GET',
        path: '/getEventById/2',
        headers: expect.objectContaining({ traceparent: 't2' }),
      },
      {
        route: 'getEventById',
        method: 'GET',
        path: '/getEventById/3',
        headers: expect.objectContaining({ traceparent: 't3' }),
      },
    ])
    mock.clearRequests()
    expect(mock.requests()).toEqual([])
  })

  it('records nothing with recordRequests: 0 and rejects a bad value', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy', recordRequests: 0 })
    handle = await mock.listen()
    await fetch(`${handle.url}/getUsers`)
    expect(mock.requests()).toEqual([])
    expect(() => createMockUpstream({ recordRequests: -1 })).toThrow(
      'Expected `recordRequests` to be a non-negative integer, got -1',
    )
  })
})

describe('listen() and the msw handlers', () => {
  it('answer the same status, body and headers: one definition of behaviour, two transports', async () => {
    const { getResponse } = await import('msw')
    const options = { baseUrl: 'http://event.com/api', delays: 0, mode: 'healthy' } as const
    const viaMsw = createMockUpstream(options)
    const viaListen = createMockUpstream(options)
    handle = await viaListen.listen()
    agent = new Agent({ keepAlive: true })
    const cases: { path: string; method?: string; body?: string }[] = [
      { path: '/getUsers' },
      { path: '/getUserById/2' },
      { path: '/getUserById/nobody' },
      { path: '/getUserById/%32' },
      { path: '/getEvents?userId=1&sort=-name&limit=2&fields=id,name' },
      { path: '/getEvents?limit=x' },
      { path: '/getEventById/3' },
      { path: '/getEventsByIds?ids=1,2,zz' },
      { path: '/getEventsByIds' },
      { path: '/addEvent', method: 'POST', body: '{"name":"n","userId":"1"}' },
      { path: '/addEvent', method: 'POST', body: '{' },
      { path: '/__admin/mode' },
      { path: '/__admin/calls' },
    ]
    for (const c of cases) {
      const method = c.method ?? 'GET'
      const fetched = await getResponse(
        viaMsw.handlers,
        new Request(`http://event.com/api${c.path}`, { method, body: c.body }),
      )
      const served = await callWithHeaders(`${handle.url}${c.path}`, agent, method, c.body)
      expect({ path: c.path, status: served.status, body: JSON.parse(served.body) }).toEqual({
        path: c.path,
        status: fetched?.status,
        body: await fetched?.json(),
      })
      for (const name of ['x-total-count', 'x-missing-ids', 'content-type']) {
        expect([c.path, name, served.headers[name]]).toEqual([
          c.path,
          name,
          fetched?.headers.get(name) ?? undefined,
        ])
      }
    }
    expect(viaListen.calls()).toEqual(viaMsw.calls())
    expect(viaListen.requests().map((r) => [r.route, r.method, r.path])).toEqual(
      viaMsw.requests().map((r) => [r.route, r.method, r.path]),
    )
  })
})

/** A node:http request returning status, body and response headers. */
function callWithHeaders(url: string, a: Agent, method: string, body?: string) {
  return new Promise<{ status: number; body: string; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(url, { agent: a, method }, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
        })
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }),
        )
        res.on('error', reject)
      })
      req.on('error', reject)
      req.end(body)
    },
  )
}
