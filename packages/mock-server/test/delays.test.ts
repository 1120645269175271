import { getResponse } from 'msw'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMockUpstream, type MockUpstream } from '../src/index.js'

// Resolves requests straight against the handlers, so fake timers drive every delay.
const send = (mock: MockUpstream, path: string, init?: RequestInit) =>
  getResponse(mock.handlers, new Request(`${mock.baseUrl}${path}`, init))

/** Starts a request and reports whether it has settled, without awaiting it. */
function track(promise: Promise<Response | undefined>) {
  const state: { done: boolean; response?: Response } = { done: false }
  promise.then((response) => {
    state.done = true
    state.response = response
  })
  return state
}

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

describe('default delays', () => {
  it('answers getEventById only after 500 ms', async () => {
    const mock = createMockUpstream({ mode: 'healthy' })
    const pending = track(send(mock, '/getEventById/1'))
    await vi.advanceTimersByTimeAsync(499)
    expect(pending.done).toBe(false)
    expect(mock.inFlight('getEventById')).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(pending.done).toBe(true)
    expect(pending.response?.status).toBe(200)
    expect(mock.inFlight('getEventById')).toBe(0)
  })

  it('answers a whole getEventsByIds batch after one getEventById latency', async () => {
    const mock = createMockUpstream({ mode: 'healthy' })
    const pending = track(send(mock, '/getEventsByIds?ids=1,2,3,4'))
    await vi.advanceTimersByTimeAsync(499)
    expect(pending.done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(await pending.response?.json()).toHaveLength(4)
  })

  it('answers other reads at once', async () => {
    const mock = createMockUpstream({ mode: 'healthy' })
    const pending = track(send(mock, '/getUserById/1'))
    await vi.advanceTimersByTimeAsync(0)
    expect(pending.response?.status).toBe(200)
  })

  it('answers the failing addEvent phase with 503 after 100 ms', async () => {
    const mock = createMockUpstream({ failureCycle: { succeed: 0, fail: 1 } })
    const pending = track(
      send(mock, '/addEvent', { method: 'POST', body: '{"name":"a","userId":"1"}' }),
    )
    await vi.advanceTimersByTimeAsync(99)
    expect(pending.done).toBe(false)
    await vi.advanceTimersByTimeAsync(1)
    expect(pending.response?.status).toBe(503)
  })

  it('adds slowExtra to every data route in slow mode', async () => {
    const mock = createMockUpstream({ mode: 'slow', delays: { slowExtra: 300 } })
    const user = track(send(mock, '/getUserById/1'))
    const event = track(send(mock, '/getEventById/1'))
    await vi.advanceTimersByTimeAsync(299)
    expect([user.done, event.done]).toEqual([false, false])
    await vi.advanceTimersByTimeAsync(1)
    expect([user.done, event.done]).toEqual([true, false])
    await vi.advanceTimersByTimeAsync(500)
    expect(event.response?.status).toBe(200)
  })
})

describe('delay knobs', () => {
  it('delays: 0 answers every route without a timer', async () => {
    const mock = createMockUpstream({ delays: 0, failureCycle: { succeed: 0, fail: 1 } })
    const event = track(send(mock, '/getEventById/1'))
    const failed = track(send(mock, '/addEvent', { method: 'POST', body: '{}' }))
    await vi.advanceTimersByTimeAsync(0)
    expect(event.response?.status).toBe(200)
    expect(failed.response?.status).toBe(503)
  })

  it('a per-route delay overrides the default', async () => {
    const mock = createMockUpstream({ delays: { default: 50, getUsers: 10 }, mode: 'healthy' })
    const users = track(send(mock, '/getUsers'))
    const user = track(send(mock, '/getUserById/1'))
    await vi.advanceTimersByTimeAsync(10)
    expect([users.done, user.done]).toEqual([true, false])
    await vi.advanceTimersByTimeAsync(40)
    expect(user.done).toBe(true)
  })

  it('an aborted request stops waiting and leaves the in-flight count', async () => {
    const mock = createMockUpstream({ mode: 'healthy' })
    const controller = new AbortController()
    const pending = track(send(mock, '/getEventById/1', { signal: controller.signal }))
    await vi.advanceTimersByTimeAsync(10)
    expect(mock.inFlight('getEventById')).toBe(1)
    controller.abort()
    await vi.advanceTimersByTimeAsync(0)
    expect(pending.done).toBe(true)
    expect(pending.response?.type).toBe('error')
    expect(mock.inFlight('getEventById')).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('tracks the high-water mark of concurrent requests', async () => {
    const mock = createMockUpstream({ mode: 'healthy', delays: { getEventById: 100 } })
    for (let i = 0; i < 7; i++) track(send(mock, '/getEventById/1'))
    await vi.advanceTimersByTimeAsync(50)
    for (let i = 0; i < 3; i++) track(send(mock, '/getEventById/2'))
    await vi.advanceTimersByTimeAsync(0)
    expect(mock.inFlight('getEventById')).toBe(10)
    await vi.advanceTimersByTimeAsync(50)
    expect(mock.inFlight('getEventById')).toBe(3)
    track(send(mock, '/getEventById/3'))
    await vi.advanceTimersByTimeAsync(200)
    expect(mock.highWater('getEventById')).toBe(10)
    expect(mock.highWater().getUsers).toBe(0)
    mock.resetCalls()
    expect(mock.highWater('getEventById')).toBe(0)
  })
})
