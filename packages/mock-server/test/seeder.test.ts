import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { runSeedCli } from '../src/cli/seed-cli.js'
import {
  createMockUpstream,
  type MockClock,
  type MockServerHandle,
  type MockUpstream,
  parseRetryAfter,
  seedEvents,
} from '../src/index.js'

const closers: (() => Promise<void>)[] = []
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!()
})

/** Request log of a stand-in service: every status it answered, per event name. */
type Log = Map<string, number[]>

/**
 * Starts a stand-in for the example service on 127.0.0.1: `POST /addEvent` takes
 * `{ name, userId, details? }`, generates an id and forwards to `respond`, then answers with the
 * same status and body. Every status answered is logged per event name.
 */
async function startService(
  respond: (
    event: Record<string, unknown>,
  ) => Promise<{ status: number; body: string; headers?: Record<string, string> }>,
): Promise<{ url: string; log: Log }> {
  const log: Log = new Map()
  let nextId = 0
  const server: Server = createServer(async (req, res) => {
    let raw = ''
    for await (const chunk of req) raw += chunk
    const body = JSON.parse(raw) as Record<string, unknown>
    const answer = await respond({ id: `svc-${++nextId}`, ...body })
    const name = String(body.name)
    log.set(name, [...(log.get(name) ?? []), answer.status])
    res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers })
    res.end(answer.body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, log }
}

/** A service forwarding to a real mock upstream server, passing `Retry-After: 0` on a 503. */
async function startForwardingService(mock: MockUpstream) {
  const upstream: MockServerHandle = await mock.listen()
  closers.push(() => upstream.close())
  return startService(async (event) => {
    const res = await fetch(`${upstream.url}/addEvent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(event),
    })
    const headers: Record<string, string> = res.status === 503 ? { 'retry-after': '0' } : {}
    return { status: res.status, body: await res.text(), headers }
  })
}

/** A clock that records every delay asked for and fires it on the next macrotask. */
function recordingClock(): MockClock & { delays: number[] } {
  const delays: number[] = []
  return {
    delays,
    setTimeout: (fn, ms) => {
      delays.push(ms)
      return setImmediate(fn)
    },
    clearTimeout: (handle) => clearImmediate(handle as NodeJS.Immediate),
  }
}

describe('seedEvents', () => {
  it('adds every event through a flapping upstream, retrying only what failed', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'flapping' })
    const service = await startForwardingService(mock)
    const result = await seedEvents({
      target: service.url,
      count: 30,
      userId: '1',
      concurrency: 4,
      retries: 20,
      minDelayMs: 1,
      maxDelayMs: 2,
    })
    // 30 successes take 6 cycles of 5-then-10, the last one cut after its 5th success: 80 calls.
    expect(result).toMatchObject({ total: 30, added: 30, failed: 0, attempts: 80, retries: 50 })
    expect(result.failures).toEqual([])
    expect(mock.calls('addEvent')).toBe(80)
    const names = Array.from({ length: 30 }, (_, i) => `seed-event-${i}`)
    const stored = mock.store.listEvents().filter((e) => e.name.startsWith('seed-event-'))
    expect(stored.map((e) => e.name).sort()).toEqual([...names].sort())
    expect(mock.store.getUser('1')?.events).toHaveLength(2 + 30)
    // Each event was retried only while it failed: n 503s, then exactly one 200.
    for (const name of names) {
      const statuses = service.log.get(name) ?? []
      expect(statuses.at(-1)).toBe(200)
      expect(statuses.slice(0, -1).every((s) => s === 503)).toBe(true)
    }
    expect([...service.log.values()].flat()).toHaveLength(80)
  })

  it('honours Retry-After and otherwise backs off exponentially', async () => {
    let calls = 0
    const service = await startService(async () => {
      calls++
      if (calls === 1) return { status: 503, body: '{}', headers: { 'retry-after': '2' } }
      if (calls <= 4) return { status: 503, body: '{}' }
      return { status: 200, body: '{"success":true}' }
    })
    const clock = recordingClock()
    const result = await seedEvents({
      target: service.url,
      count: 1,
      userId: '1',
      minDelayMs: 10,
      factor: 2,
      jitter: false,
      clock,
    })
    expect(result).toMatchObject({ added: 1, attempts: 5, retries: 4 })
    expect(clock.delays).toEqual([2000, 20, 40, 80])
  })

  it('caps Retry-After at maxRetryAfterMs', async () => {
    let calls = 0
    const service = await startService(async () =>
      ++calls === 1
        ? { status: 429, body: '{}', headers: { 'retry-after': '3600' } }
        : { status: 200, body: '{}' },
    )
    const clock = recordingClock()
    await seedEvents({ target: service.url, count: 1, userId: '1', maxRetryAfterMs: 50, clock })
    expect(clock.delays).toEqual([50])
  })

  it('does not retry a final error and reports every failure', async () => {
    const service = await startService(async () => ({
      status: 404,
      body: '{"error":"Not Found","message":"User \\"9\\" not found"}',
    }))
    const result = await seedEvents({ target: service.url, count: 5, userId: '9', concurrency: 2 })
    expect(result).toMatchObject({ added: 0, failed: 5, attempts: 5, retries: 0 })
    expect(result.failures.map((f) => [f.index, f.status])).toEqual([
      [0, 404],
      [1, 404],
      [2, 404],
      [3, 404],
      [4, 404],
    ])
  })

  it('gives up after `retries` and counts the event as failed', async () => {
    const service = await startService(async () => ({ status: 503, body: '{}' }))
    const result = await seedEvents({
      target: service.url,
      count: 2,
      userId: '1',
      retries: 3,
      clock: recordingClock(),
    })
    expect(result).toMatchObject({ added: 0, failed: 2, attempts: 8, retries: 6 })
  })

  it('retries network errors', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
    const upstream = await mock.listen()
    closers.push(() => upstream.close())
    let calls = 0
    const target = `${upstream.url}`
    // The first attempt goes to a closed port; later attempts reach the mock itself.
    const result = await seedEvents({
      target,
      count: 1,
      userId: '2',
      clock: recordingClock(),
      fetch: (input, init) =>
        ++calls === 1 ? fetch('http://127.0.0.1:1/addEvent', init) : fetch(input, init),
    })
    expect(result).toMatchObject({ added: 1, attempts: 2, retries: 1 })
    expect(mock.store.getUser('2')?.events).toHaveLength(2)
  })

  it('sends one Idempotency-Key per event, the same on each of its retries', async () => {
    const keysByName = new Map<string, Set<string>>()
    let answered = 0
    const target = await new Promise<string>((resolve) => {
      const server = createServer(async (req, res) => {
        let raw = ''
        for await (const chunk of req) raw += chunk
        const name = String((JSON.parse(raw) as { name: unknown }).name)
        const keys = keysByName.get(name) ?? new Set<string>()
        keys.add(String(req.headers['idempotency-key']))
        keysByName.set(name, keys)
        // Every other answer is a 503, so each event is retried at least once.
        res.writeHead(++answered % 2 === 1 ? 503 : 201, { 'retry-after': '0' }).end('{}')
      })
      server.listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      )
      closers.push(
        () =>
          new Promise<void>((done) => {
            server.close(() => done())
            server.closeAllConnections()
          }),
      )
    })
    const result = await seedEvents({
      target,
      count: 4,
      userId: '1',
      concurrency: 1,
      clock: recordingClock(),
    })
    expect(result).toMatchObject({ added: 4, retries: 4 })
    const keys = [...keysByName.values()]
    expect(keys).toHaveLength(4)
    for (const perEvent of keys) expect(perEvent.size).toBe(1)
    expect(new Set(keys.flatMap((perEvent) => [...perEvent])).size).toBe(4)
    expect([...(keys[0] ?? [])][0]).not.toBe('undefined')
  })

  it('rejects bad options with the bad value', async () => {
    await expect(seedEvents({ target: 'nope', count: 1, userId: '1' })).rejects.toThrow(
      'Expected `target` to be an http(s) URL, got "nope"',
    )
    await expect(
      seedEvents({ target: 'http://x', count: 1, userId: '1', concurrency: 0 }),
    ).rejects.toThrow('Expected `concurrency` to be an integer >= 1, got 0')
  })

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('3')).toBe(3000)
    expect(parseRetryAfter(null)).toBeUndefined()
    expect(parseRetryAfter('soon')).toBeUndefined()
    const now = Date.parse('2026-01-01T00:00:00Z')
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000)
  })
})

describe('userevents-seed CLI', () => {
  const capture = (isTTY: boolean) => {
    const out = { stdout: '', stderr: '' }
    return {
      out,
      io: {
        stdout: { write: (s: string) => (out.stdout += s) },
        stderr: { write: (s: string) => (out.stderr += s), isTTY, columns: 100 },
      },
    }
  }

  it('prints plain progress lines off a terminal and exits 0 when all were added', async () => {
    const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
    const service = await startForwardingService(mock)
    const { out, io } = capture(false)
    const code = await runSeedCli(['--target', service.url, '--count', '20', '--user', '3'], io)
    expect(code).toBe(0)
    expect(out.stdout).toBe('added 20 of 20 events (failed 0, 20 attempts, 0 retries)\n')
    const lines = out.stderr.trim().split('\n')
    expect(lines.length).toBeGreaterThanOrEqual(5)
    expect(lines.at(-1)).toBe('seed: 20/20 added=20 failed=0 retries=0')
    expect(out.stderr).not.toContain('\r')
  })

  it('draws a bar on a terminal and exits 1 when some event was not added', async () => {
    const service = await startService(async () => ({
      status: 400,
      body: '{"error":"Bad Request"}',
    }))
    const { out, io } = capture(true)
    const code = await runSeedCli(['--target', service.url, '--count', '3'], io)
    expect(code).toBe(1)
    expect(out.stderr).toContain('\r')
    expect(out.stderr).toContain('3/3 added=0 failed=3')
    expect(out.stdout).toContain('added 0 of 3 events (failed 3')
  })

  it('exits 2 on a usage error', async () => {
    const { out, io } = capture(false)
    expect(await runSeedCli(['--count', '3'], io)).toBe(2)
    expect(out.stderr).toContain('Missing --target')
    expect(await runSeedCli(['--target', 'http://127.0.0.1:1', '--count', 'many'], io)).toBe(2)
    expect(out.stderr).toContain('Expected `count` to be an integer >= 0, got "many"')
    expect(await runSeedCli(['--bogus'], io)).toBe(2)
  })
})
