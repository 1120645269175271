import { getResponse } from 'msw'
import { afterEach, describe, expect, it, vi } from 'vitest'
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

/** A clock moved by hand: timers fire only inside `advance`, in time order. */
function manualClock() {
  let now = 0
  let timers: Array<{ at: number; fn: () => void; id: number }> = []
  let ids = 0
  const delays: number[] = []
  const clock: Required<MockClock> = {
    now: () => now,
    setTimeout: (fn, ms) => {
      delays.push(ms)
      const id = ++ids
      timers.push({ at: now + ms, fn, id })
      return id
    },
    clearTimeout: (id) => {
      timers = timers.filter((t) => t.id !== id)
    },
  }
  const advance = async (ms: number) => {
    const until = now + ms
    for (;;) {
      await flush()
      const due = timers.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0]
      if (due === undefined) break
      timers = timers.filter((t) => t !== due)
      now = due.at
      due.fn()
    }
    now = until
    await flush()
  }
  return { clock, advance, delays }
}

async function flush() {
  for (let i = 0; i < 20; i++) await Promise.resolve()
  await new Promise((r) => setImmediate(r))
}

let servers: MockServerHandle[] = []
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()))
  servers = []
})

describe('brownout options', () => {
  it.each([
    [{ latencyFactor: 0.5 }, 'brownout.latencyFactor', 'a finite number >= 1, got 0.5'],
    [{ errorRate: 1.2 }, 'brownout.errorRate', 'a number from 0 to 1, got 1.2'],
    [{ capacity: 0 }, 'brownout.capacity', 'a positive integer or Infinity, got 0'],
    [{ capacity: 2.5 }, 'brownout.capacity', 'a positive integer or Infinity, got 2.5'],
    [
      { queue: 3 },
      'brownout.queue',
      'Unknown option `brownout.queue`; expected one of latencyFactor, errorRate, capacity',
    ],
  ])('rejects %j naming the option', (brownout, option, message) => {
    const make = () => createMockUpstream({ brownout: brownout as never })
    expect(make).toThrow(InvalidMockOptionError)
    expect(make).toThrow(message)
    try {
      make()
    } catch (error) {
      expect((error as InvalidMockOptionError).option).toBe(option)
    }
  })

  it('has documented defaults and merges run-time changes into the current settings', () => {
    const mock = createMockUpstream({ delays: 0 })
    expect(mock.brownout).toEqual({ latencyFactor: 4, errorRate: 0.3, capacity: 10 })
    mock.setMode('brownout', { capacity: 3 })
    expect(mock.mode).toBe('brownout')
    expect(mock.brownout).toEqual({ latencyFactor: 4, errorRate: 0.3, capacity: 3 })
    expect(mock.capacityStats().capacity).toBe(3)
    mock.setMode('healthy')
    expect(mock.capacityStats().capacity).toBe(Number.POSITIVE_INFINITY)
    mock.setMode('brownout')
    expect(mock.brownout.capacity).toBe(3)
  })

  it('a bad run-time setting leaves mode and settings unchanged', () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
    expect(() => mock.setMode('brownout', { errorRate: -1 })).toThrow('brownout.errorRate')
    expect(mock.mode).toBe('healthy')
    expect(mock.brownout.errorRate).toBe(0.3)
  })
})

describe('brownout mode', () => {
  it('multiplies every route latency by the factor', async () => {
    const { clock, advance, delays } = manualClock()
    const mock = createMockUpstream({
      mode: 'brownout',
      delays: { default: 10, getEventById: 25 },
      brownout: { latencyFactor: 4, errorRate: 0 },
      clock,
    })
    const answers = Promise.all([send(mock, '/getUserById/1'), send(mock, '/getEventById/1')])
    await advance(1_000)
    expect((await answers).map((r) => r.status)).toEqual([200, 200])
    expect(delays).toEqual([40, 100])
  })

  it('answers the error rate with 503 on every data route, seeded', async () => {
    const statuses = async (seed: number) => {
      const mock = createMockUpstream({
        mode: 'brownout',
        delays: 0,
        seed,
        brownout: { errorRate: 0.3 },
      })
      const out: number[] = []
      for (let i = 0; i < 200; i++) out.push((await send(mock, '/getUserById/1')).status)
      return out
    }
    const a = await statuses(5)
    expect(a).toEqual(await statuses(5))
    const failed = a.filter((s) => s === 503).length
    expect(failed).toBeGreaterThan(40)
    expect(failed).toBeLessThan(80)
    const all = createMockUpstream({ mode: 'brownout', delays: 0, brownout: { errorRate: 1 } })
    for (const path of ['/getUsers', '/getUserById/1', '/getEvents', '/getEventById/1']) {
      expect((await send(all, path)).status).toBe(503)
    }
    const write = await send(all, '/addEvent', {
      method: 'POST',
      body: JSON.stringify({ name: 'x', userId: '1' }),
    })
    expect(write.status).toBe(503)
    expect(all.store.listEvents()).toHaveLength(4)
  })

  it('serves at most `capacity` at once and queues the rest in order', async () => {
    const { clock, advance } = manualClock()
    const mock = createMockUpstream({
      mode: 'brownout',
      delays: { default: 10 },
      brownout: { latencyFactor: 1, errorRate: 0, capacity: 2 },
      clock,
    })
    const done: number[] = []
    const all = Array.from({ length: 6 }, (_, i) =>
      send(mock, `/getUserById/${(i % 3) + 1}`).then((r) => {
        done.push(i)
        return r.status
      }),
    )
    await advance(0)
    expect(mock.capacityStats()).toMatchObject({ serving: 2, queued: 4, maxQueued: 4 })
    await advance(10)
    expect(done).toEqual([0, 1])
    expect(mock.capacityStats()).toMatchObject({ serving: 2, queued: 2 })
    await advance(20)
    expect(await Promise.all(all)).toEqual([200, 200, 200, 200, 200, 200])
    expect(done).toEqual([0, 1, 2, 3, 4, 5])
    expect(mock.capacityStats()).toMatchObject({ serving: 0, queued: 0, served: 6, expired: 0 })
  })

  it('answers 504 without service time when x-request-timeout-ms passed in the queue', async () => {
    const { clock, advance, delays } = manualClock()
    const mock = createMockUpstream({
      mode: 'brownout',
      delays: { default: 50 },
      brownout: { latencyFactor: 1, errorRate: 0, capacity: 1 },
      clock,
    })
    const first = send(mock, '/getUserById/1')
    const late = send(mock, '/getUserById/2', { headers: { 'x-request-timeout-ms': '20' } })
    const patient = send(mock, '/getUserById/3', { headers: { 'x-request-timeout-ms': '500' } })
    await advance(200)
    expect((await first).status).toBe(200)
    const expired = await late
    expect(expired.status).toBe(504)
    expect(await expired.json()).toMatchObject({ error: 'Gateway Timeout' })
    expect((await patient).status).toBe(200)
    // Two service times of 50 ms: the expired request took none.
    expect(delays).toEqual([50, 50])
    expect(mock.capacityStats()).toMatchObject({ served: 2, expired: 1 })
    expect(mock.calls('getUserById')).toBe(3)
  })

  it('keeps serving a request whose client went away, and counts it as abandoned', async () => {
    const mock = createMockUpstream({
      mode: 'brownout',
      delays: { default: 300 },
      brownout: { latencyFactor: 1, errorRate: 0, capacity: 1 },
    })
    const server = await mock.listen()
    servers.push(server)
    const controller = new AbortController()
    const gone = fetch(`${server.url}/getUserById/1`, { signal: controller.signal })
    await vi.waitFor(() => expect(mock.capacityStats().serving).toBe(1), { interval: 1 })
    controller.abort()
    await expect(gone).rejects.toThrow()
    // The slot stays taken for the whole service time, then the work is counted as wasted.
    expect(mock.capacityStats().serving).toBe(1)
    await vi.waitFor(() => expect(mock.capacityStats()).toMatchObject({ served: 1, abandoned: 1 }))
    const ok = await fetch(`${server.url}/getUserById/1`)
    expect(ok.status).toBe(200)
    expect(mock.capacityStats()).toMatchObject({ served: 2, abandoned: 1, serving: 0 })
  })

  it('leaving the brownout releases the queue at once', async () => {
    const { clock, advance } = manualClock()
    const mock = createMockUpstream({
      mode: 'brownout',
      delays: { default: 10 },
      brownout: { latencyFactor: 1, errorRate: 0, capacity: 1 },
      clock,
    })
    const all = Array.from({ length: 4 }, () => send(mock, '/getUsers'))
    await advance(0)
    expect(mock.capacityStats().queued).toBe(3)
    mock.setMode('healthy')
    expect(mock.capacityStats()).toMatchObject({ queued: 0, serving: 4 })
    await advance(100)
    expect((await Promise.all(all)).map((r) => r.status)).toEqual([200, 200, 200, 200])
  })
})

describe('brownout admin and CLI', () => {
  it('POST /__admin/mode switches to brownout with settings; /__admin/calls shows the queue', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
    const server = await mock.listen()
    servers.push(server)
    const post = (body: unknown) =>
      fetch(`${server.url}/__admin/mode`, { method: 'POST', body: JSON.stringify(body) })
    const bad = await post({ mode: 'brownout', brownout: { capacity: -1 } })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toContain('`brownout.capacity`')
    expect(mock.mode).toBe('healthy')
    const ok = await post({ mode: 'brownout', brownout: { capacity: 3, errorRate: 0 } })
    expect(await ok.json()).toEqual({
      mode: 'brownout',
      previous: 'healthy',
      brownout: { latencyFactor: 4, errorRate: 0, capacity: 3 },
    })
    expect((await fetch(`${server.url}/getUserById/1`)).status).toBe(200)
    const calls = (await (await fetch(`${server.url}/__admin/calls`)).json()) as {
      capacity: unknown
    }
    expect(calls.capacity).toMatchObject({ capacity: 3, served: 1, expired: 0, abandoned: 0 })
    await fetch(`${server.url}/__admin/calls/reset`, { method: 'POST' })
    expect(mock.capacityStats().served).toBe(0)
  })

  it('userevents-mock takes the brownout flags', async () => {
    const out = { stdout: '', stderr: '' }
    const io = {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    }
    const argv = ['--port', '0', '--mode', 'brownout', '--capacity', '3', '--error-rate', '0']
    const result = await runMockCli([...argv, '--latency-factor', '2', '--no-delays'], io)
    expect(typeof result).toBe('object')
    servers.push(result as MockServerHandle)
    expect(out.stderr).toContain('mode=brownout (latency x2, errors 0, capacity 3)')
    expect(await runMockCli(['--error-rate', 'lots'], io)).toBe(2)
    expect(out.stderr).toContain('Expected `--error-rate` to be a number, got "lots"')
    expect(await runMockCli(['--capacity', '0'], io)).toBe(2)
    expect(out.stderr).toContain(
      'Expected `brownout.capacity` to be a positive integer or Infinity',
    )
  })
})
