import { getResponse } from 'msw'
import { afterEach, describe, expect, it } from 'vitest'
import { runMockCli } from '../src/cli/mock-cli.js'
import {
  createMockUpstream,
  InvalidMockOptionError,
  type MockClock,
  type MockServerHandle,
  type MockUpstream,
} from '../src/index.js'

const send = (mock: MockUpstream, path: string, init?: RequestInit) =>
  getResponse(mock.handlers, new Request(`${mock.baseUrl}${path}`, init)) as Promise<Response>

/** A clock whose `now` moves only by hand (the quota reads nothing else). */
function steppedClock() {
  let now = 0
  const clock: MockClock = {
    now: () => now,
    setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
    clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  }
  return {
    clock,
    advance: (ms: number) => {
      now += ms
    },
  }
}

let server: MockServerHandle | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('quota overlay', () => {
  it('answers 429 + Retry-After over the bucket, with the quota headers on every answer (in process)', async () => {
    const { clock, advance } = steppedClock()
    const mock = createMockUpstream({ delays: 0, mode: 'healthy', quota: '3/s', clock })
    const statuses: number[] = []
    let last: Response | undefined
    for (let i = 0; i < 5; i++) {
      last = await send(mock, '/getUserById/1')
      statuses.push(last.status)
    }
    expect(statuses).toEqual([200, 200, 200, 429, 429])
    expect(last?.headers.get('retry-after')).toBe('1')
    expect(last?.headers.get('ratelimit-policy')).toBe('"default";q=3;w=1')
    expect(last?.headers.get('ratelimit')).toBe('"default";r=0;t=1')
    expect(last?.headers.get('x-ratelimit-limit')).toBe('3')
    expect(last?.headers.get('x-ratelimit-remaining')).toBe('0')
    expect(await last?.json()).toMatchObject({ error: 'Too Many Requests' })
    expect(mock.quotaStats()).toEqual({ admitted: 3, limited: 2 })
    // A third of a second refills one token.
    advance(334)
    const ok = await send(mock, '/getUserById/1')
    expect(ok.status).toBe(200)
    expect(ok.headers.get('ratelimit')).toBe('"default";r=0;t=1')
    expect(ok.headers.get('x-ratelimit-remaining')).toBe('0')
  })

  it('overlays any mode: a down mock over its quota answers 429, under it 503', async () => {
    const mock = createMockUpstream({
      delays: 0,
      mode: 'down',
      quota: { limit: 1, windowSeconds: 60 },
    })
    const first = await send(mock, '/getUsers')
    expect(first.status).toBe(503)
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=1;w=60')
    expect((await send(mock, '/getUsers')).status).toBe(429)
  })

  it('is switched on the real port through the admin endpoint, and the counts are read there', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
    server = await mock.listen()
    const before = await fetch(`${server.url}/getUserById/1`)
    expect(before.headers.get('ratelimit')).toBeNull()
    const set = await fetch(`${server.url}/__admin/quota`, {
      method: 'POST',
      body: JSON.stringify({ quota: '2/min' }),
    })
    expect(await set.json()).toEqual({
      quota: { limit: 2, windowSeconds: 60 },
      admitted: 0,
      limited: 0,
    })
    const statuses = []
    for (let i = 0; i < 3; i++) statuses.push((await fetch(`${server.url}/getUserById/1`)).status)
    expect(statuses).toEqual([200, 200, 429])
    const stats = await (await fetch(`${server.url}/__admin/quota`)).json()
    expect(stats).toMatchObject({ admitted: 2, limited: 1 })
    const bad = await fetch(`${server.url}/__admin/quota`, {
      method: 'POST',
      body: JSON.stringify({ quota: 'lots' }),
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toContain('"lots"')
    await fetch(`${server.url}/__admin/quota`, { method: 'POST', body: '{"quota":null}' })
    expect((await fetch(`${server.url}/getUserById/1`)).status).toBe(200)
    expect(mock.quotaStats()).toBeUndefined()
  })

  it.each([
    ['100/day', '`quota`'],
    [{ limit: 0 }, '`quota.limit`'],
    [{ limit: 5, per: 1 }, 'Unknown option `quota.per`'],
    [7, '`quota`'],
  ])('rejects %j naming the option', (quota, message) => {
    expect(() => createMockUpstream({ quota: quota as never })).toThrow(InvalidMockOptionError)
    expect(() => createMockUpstream({ quota: quota as never })).toThrow(message)
  })

  it('the CLI takes --quota', async () => {
    let out = ''
    const io = {
      stdout: {
        write: (s: string) => {
          out += s
        },
      },
      stderr: { write: () => {} },
    }
    const started = await runMockCli(
      ['--port', '0', '--mode', 'healthy', '--no-delays', '--quota', '1/s'],
      io as never,
    )
    if (typeof started === 'number') throw new Error(`exit ${started}`)
    server = started
    const url = out.trim()
    expect((await fetch(`${url}/getUserById/1`)).status).toBe(200)
    expect((await fetch(`${url}/getUserById/1`)).status).toBe(429)
  })
})
