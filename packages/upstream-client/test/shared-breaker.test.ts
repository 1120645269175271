import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type CircuitBreaker,
  type CircuitBreakerOptions,
  createCircuitBreaker,
  createUpstreamClient,
  InvalidOptionError,
  isUpstreamErrorCode,
  type StateChangeEvent,
  type UpstreamClient,
} from '../src/index.js'
import { closeAfterEach, json, recordingLogger, startServer, type TestServer } from './helpers.js'

const open = closeAfterEach()
/** The second client and the shared breaker of a test; closed after `open`'s server and client. */
const extra: { client: UpstreamClient | undefined; breaker: CircuitBreaker | undefined } = {
  client: undefined,
  breaker: undefined,
}
afterEach(async () => {
  await extra.client?.close()
  extra.breaker?.shutdown()
  extra.client = undefined
  extra.breaker = undefined
})

/** A server whose answer the test flips: 200 while `healthy`, 500 otherwise. */
async function flipServer() {
  const state = { healthy: true }
  open.server = await startServer((_req, res) =>
    state.healthy ? json(res, 200, { ok: true }) : json(res, 500, { error: 'down' }),
  )
  return state
}

/** Two clients of the test server sharing `breaker`, registered for closing. */
function twoClients(breaker: CircuitBreaker, logger?: ReturnType<typeof recordingLogger>) {
  const baseUrl = (open.server as TestServer).origin
  const a = createUpstreamClient({
    baseUrl,
    name: 'reads',
    retry: false,
    breaker,
    logger: logger?.logger,
  })
  const b = createUpstreamClient({
    baseUrl,
    name: 'writes',
    retry: false,
    breaker,
    logger: logger?.logger,
  })
  open.client = a
  extra.client = b
  return [a, b] as const
}

describe('shared circuit breaker', () => {
  it('counts failures of every client and opens all of them at exactly the threshold', async () => {
    const upstream = await flipServer()
    extra.breaker = createCircuitBreaker({ name: 'event-api', failureThreshold: 3 })
    const log = recordingLogger()
    const [a, b] = twoClients(extra.breaker, log)
    const seenA: StateChangeEvent[] = []
    const seenB: StateChangeEvent[] = []
    a.onStateChange((e) => seenA.push(e))
    b.onStateChange((e) => seenB.push(e))
    upstream.healthy = false

    await expect(a.get('/x')).rejects.toMatchObject({ status: 500 })
    await expect(b.get('/x')).rejects.toMatchObject({ status: 500 })
    expect([a.circuitState, b.circuitState, extra.breaker.state]).toEqual([
      'closed',
      'closed',
      'closed',
    ])
    await expect(a.get('/x')).rejects.toMatchObject({ status: 500 })
    expect([a.circuitState, b.circuitState, extra.breaker.state]).toEqual(['open', 'open', 'open'])
    const opened = { name: 'event-api', operation: '*', from: 'closed', to: 'open' }
    expect(seenA).toEqual([opened])
    expect(seenB).toEqual([opened])
    // Each client logs the change through its own child logger.
    const warnings = log.lines.filter((l) => l.level === 'warn')
    expect(warnings.map((l) => [l.bindings.upstream, l.fields])).toEqual([
      ['reads', { circuit: 'open', from: 'closed', breaker: 'event-api', operation: '*' }],
      ['writes', { circuit: 'open', from: 'closed', breaker: 'event-api', operation: '*' }],
    ])

    const seen = open.server?.requests
    for (const client of [a, b, a, b]) {
      const error = await client.post('/x', {}).catch((e: unknown) => e)
      expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
      expect(error).toMatchObject({ breaker: 'event-api' })
    }
    expect(open.server?.requests).toBe(seen)
  })

  it('stays alive and usable by the other clients when one client closes', async () => {
    const upstream = await flipServer()
    extra.breaker = createCircuitBreaker({
      name: 'event-api',
      failureThreshold: 2,
      resetTimeoutMs: 20,
      rampLimit: 2,
    })
    const [a, b] = twoClients(extra.breaker)
    const seenA: StateChangeEvent[] = []
    const seenB: StateChangeEvent[] = []
    a.onStateChange((e) => seenA.push(e))
    b.onStateChange((e) => seenB.push(e))

    await a.close()
    await expect(b.get('/x')).resolves.toEqual({ ok: true })
    expect(extra.breaker.state).toBe('closed')
    upstream.healthy = false
    await expect(b.get('/x')).rejects.toMatchObject({ status: 500 })
    await expect(b.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(b.circuitState).toBe('open')
    // The reset timer still runs (close() did not shut the breaker down), and the probe closes it.
    await vi.waitFor(() => expect(extra.breaker?.state).toBe('halfOpen'))
    upstream.healthy = true
    await expect(b.get('/x')).resolves.toEqual({ ok: true })
    expect(b.circuitState).toBe('closed')
    expect(seenB.map((e) => e.to)).toEqual(['open', 'halfOpen', 'closed'])
    expect(seenA).toEqual([]) // the closed client was unsubscribed
  })

  it('reports its own events to direct subscribers until they unsubscribe', async () => {
    await flipServer().then((s) => {
      s.healthy = false
    })
    extra.breaker = createCircuitBreaker({ name: 'event-api', failureThreshold: 1 })
    const seen: StateChangeEvent[] = []
    const off = extra.breaker.onStateChange((e) => seen.push(e))
    const [a] = twoClients(extra.breaker)
    await expect(a.get('/x')).rejects.toMatchObject({ status: 500 })
    expect(seen).toEqual([{ name: 'event-api', operation: '*', from: 'closed', to: 'open' }])
    off()
    extra.breaker.shutdown()
    extra.breaker.shutdown() // idempotent
    expect(extra.breaker.name).toBe('event-api')
  })

  it('keeps separate breakers for clients given breaker options', async () => {
    await flipServer().then((s) => {
      s.healthy = false
    })
    const baseUrl = (open.server as TestServer).origin
    const breaker = { failureThreshold: 3 }
    open.client = createUpstreamClient({ baseUrl, retry: false, breaker })
    extra.client = createUpstreamClient({ baseUrl, retry: false, breaker })
    for (const client of [open.client, extra.client, open.client, extra.client]) {
      await expect(client.get('/x')).rejects.toMatchObject({ status: 500 })
    }
    expect([open.client.circuitState, extra.client.circuitState]).toEqual(['closed', 'closed'])
  })
})

/** Returns the message of the error thrown by `createCircuitBreaker(options)`. */
function messageOf(options: unknown): string {
  try {
    createCircuitBreaker(options as CircuitBreakerOptions).shutdown()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_OPTION')).toBe(true)
    return (error as Error).message
  }
  throw new Error('expected the options to be rejected')
}

describe('createCircuitBreaker option validation', () => {
  it.each([
    [undefined, 'Expected `options` to be an object, got undefined'],
    [{}, 'Expected `name` to be a non-empty string, got undefined'],
    [{ name: '' }, 'Expected `name` to be a non-empty string, got ""'],
    [
      { name: 'x', failureThreshold: 0 },
      'Expected `failureThreshold` to be a positive integer, got 0',
    ],
    [{ name: 'x', windowMs: -5 }, 'Expected `windowMs` to be a positive number, got -5'],
    [
      { name: 'x', resetTimeoutMs: 'soon' },
      'Expected `resetTimeoutMs` to be a positive number, got "soon"',
    ],
    [{ name: 'x', maxQueued: 1.5 }, 'Expected `maxQueued` to be a non-negative integer, got 1.5'],
    [{ name: 'x', isFailure: true }, 'Expected `isFailure` to be a function, got true'],
    [
      { name: 'x', clock: {} },
      'Expected `clock` to be an object with now, setTimeout and clearTimeout, got {}',
    ],
    [
      { name: 'x', treshold: 3 },
      'Unknown option `treshold`; expected one of failureThreshold, windowMs, resetTimeoutMs, maxQueued, rampLimit, isFailure, name, clock',
    ],
  ])('rejects %j', (options, message) => {
    expect(messageOf(options)).toBe(message)
  })

  it('is recognised by createUpstreamClient only when it comes from the factory', () => {
    const lookAlike = { name: 'x', state: 'closed', shutdown: () => undefined }
    expect(() =>
      createUpstreamClient({
        baseUrl: 'http://127.0.0.1:1',
        breaker: lookAlike as unknown as CircuitBreaker,
      }),
    ).toThrow('Unknown option `breaker.name`')
  })
})
