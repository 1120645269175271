import { describe, expect, it } from 'vitest'
import {
  type BreakerStateStore,
  type BreakerStoreEvent,
  breakerStateStoreKind,
  createCircuitBreaker,
  createUpstreamClient,
  type FleetCircuit,
  type FleetOutcome,
  type FleetPermit,
  type FleetView,
  InvalidOptionError,
  isBreakerStateStore,
  isUpstreamErrorCode,
  type StateChangeEvent,
} from '../src/index.js'
import { closeAfterEach, json, startServer, type TestServer } from './helpers.js'

// The seam alone: a scripted in-process store stands in for the fleet, so these tests check what
// the client does with each answer. The fleet itself (Redis, several processes) is tested in
// packages/redis.

const open = closeAfterEach()

type Answer<T> = T | 'hang' | 'reject'

/** A store whose answers the test sets; it records what the client asked. */
function scriptedStore() {
  const listeners = new Set<(event: BreakerStoreEvent) => void>()
  const calls = {
    read: [] as FleetCircuit[],
    failures: [] as FleetCircuit[],
    acquire: [] as FleetCircuit[],
    release: [] as { token: string; outcome: FleetOutcome }[],
  }
  const closed: FleetView = { state: 'closed', retryAfterMs: 0 }
  const answers = {
    read: closed as Answer<FleetView>,
    failure: closed as Answer<FleetView>,
    acquire: { granted: true, kind: 'probe', token: 't1' } as Answer<FleetPermit>,
    release: closed as Answer<FleetView>,
  }
  const answer = <T>(a: Answer<T>): Promise<T> =>
    a === 'hang'
      ? new Promise<T>(() => {})
      : a === 'reject'
        ? Promise.reject(new Error('store away'))
        : Promise.resolve(a)
  const store: BreakerStateStore & { available: boolean } = {
    kind: breakerStateStoreKind,
    available: true,
    read: (circuit) => {
      calls.read.push(circuit)
      return answer(answers.read)
    },
    recordFailure: (circuit) => {
      calls.failures.push(circuit)
      return answer(answers.failure)
    },
    acquire: (circuit) => {
      calls.acquire.push(circuit)
      return answer(answers.acquire)
    },
    release: (_circuit, _rule, token, outcome) => {
      calls.release.push({ token, outcome })
      return answer(answers.release)
    },
    subscribe: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
  }
  const emit = (event: BreakerStoreEvent) => {
    for (const l of listeners) l(event)
  }
  return { store, calls, answers, emit, listeners }
}

async function server(status = 200) {
  const state = { status }
  open.server = await startServer((_req, res) => json(res, state.status, { ok: true }))
  return state
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 5))

describe('breaker.store (fleet mode seam)', () => {
  it('recognises a branded store from any copy and rejects a look-alike, naming the option', () => {
    const { store } = scriptedStore()
    expect(isBreakerStateStore(store)).toBe(true)
    // What a second installed copy of this package builds: the same string brand.
    expect(isBreakerStateStore({ ...store, kind: 'userevents.breaker-state-store.v1' })).toBe(true)
    const { kind: _kind, ...lookAlike } = store
    expect(isBreakerStateStore(lookAlike)).toBe(false)
    expect(() =>
      createUpstreamClient({
        baseUrl: 'http://127.0.0.1:1',
        breaker: { store: lookAlike as never },
      }),
    ).toThrow(InvalidOptionError)
    expect(() =>
      createUpstreamClient({
        baseUrl: 'http://127.0.0.1:1',
        breaker: { store: lookAlike as never },
      }),
    ).toThrow(/`breaker\.store`/)
  })

  it('fails fast with 0 requests once the store says the fleet circuit of an operation is open; other operations flow', async () => {
    await server()
    const fleet = scriptedStore()
    const events: StateChangeEvent[] = []
    const client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      name: 'events',
      retry: false,
      breaker: { store: fleet.store },
    })
    open.client = client
    client.onStateChange((e) => events.push(e))
    await client.get('/getUserById/1')
    await settle()
    expect(fleet.calls.read).toEqual([{ name: 'events', operation: 'GET /getUserById' }])
    fleet.emit({
      type: 'state',
      circuit: { name: 'events', operation: 'GET /getUserById' },
      view: { state: 'open', retryAfterMs: 5_000 },
    })
    const error = await client.get('/getUserById/2').catch((e: unknown) => e)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')).toBe(true)
    expect((error as Error).message).toMatch(/open in the fleet/)
    await client.get('/getEvents')
    expect((open.server as TestServer).requests).toBe(2)
    expect(events).toEqual([
      { name: 'events', from: 'closed', to: 'open', operation: 'GET /getUserById', scope: 'fleet' },
    ])
    // Nothing was counted as a failure: the fail-fast and the successes are not reported.
    expect(fleet.calls.failures).toEqual([])
  })

  it('reports each failing attempt to the store, and applies the view it answers', async () => {
    const upstream = await server(503)
    const fleet = scriptedStore()
    fleet.answers.failure = { state: 'open', retryAfterMs: 5_000 }
    const client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      name: 'events',
      retry: false,
      breaker: { store: fleet.store, failureThreshold: 100 },
    })
    open.client = client
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({ status: 503 })
    await settle()
    expect(fleet.calls.failures).toEqual([{ name: 'events', operation: 'GET /getUserById' }])
    upstream.status = 200
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    expect((open.server as TestServer).requests).toBe(1)
  })

  it('sends the probe only with the lease, and hands it back with the outcome', async () => {
    await server()
    const fleet = scriptedStore()
    const client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      name: 'events',
      retry: false,
      breaker: { store: fleet.store },
    })
    open.client = client
    const circuit = { name: 'events', operation: 'GET /getUserById' }
    // Open, and already past its reset time: the next call asks for the lease.
    fleet.emit({ type: 'state', circuit, view: { state: 'open', retryAfterMs: 0 } })
    fleet.answers.acquire = { granted: false, view: { state: 'halfOpen', retryAfterMs: 1_000 } }
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    // The refusal's view is kept: no second round trip while the other replica probes.
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    expect(fleet.calls.acquire).toHaveLength(1)
    expect((open.server as TestServer).requests).toBe(0)

    fleet.emit({ type: 'state', circuit, view: { state: 'open', retryAfterMs: 0 } })
    fleet.answers.acquire = { granted: true, kind: 'probe', token: 'lease-1' }
    await client.get('/getUserById/1')
    await settle()
    expect((open.server as TestServer).requests).toBe(1)
    expect(fleet.calls.release).toEqual([{ token: 'lease-1', outcome: 'success' }])
    expect(client.circuitState).toBe('closed')
  })

  it('during the fleet-wide ramp each call takes a slot; without one it fails fast; a probe the local breaker refuses goes back unused', async () => {
    const upstream = await server()
    const fleet = scriptedStore()
    const client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      name: 'events',
      retry: false,
      breaker: { store: fleet.store, resetTimeoutMs: 60_000 },
    })
    open.client = client
    const circuit = { name: 'events', operation: 'GET /getUserById' }
    fleet.emit({ type: 'state', circuit, view: { state: 'recovering', retryAfterMs: 0 } })
    fleet.answers.acquire = { granted: true, kind: 'ramp', token: 'slot-1' }
    // The fleet is still recovering after this slot goes back (the test must not depend on
    // whether the release's reply is applied before the next call starts).
    fleet.answers.release = { state: 'recovering', retryAfterMs: 0 }
    await client.get('/getUserById/1')
    fleet.answers.acquire = { granted: false, view: { state: 'recovering', retryAfterMs: 0 } }
    await expect(client.get('/getUserById/1')).rejects.toThrow(/recovering in the fleet/)
    await settle()
    expect(fleet.calls.release).toEqual([{ token: 'slot-1', outcome: 'success' }])
    expect((open.server as TestServer).requests).toBe(1)

    // This replica's own breaker opens on its own failures (3), whatever the fleet says.
    upstream.status = 503
    fleet.emit({ type: 'state', circuit, view: { state: 'closed', retryAfterMs: 0 } })
    for (let i = 0; i < 3; i++) await client.get('/getUserById/1').catch(() => {})
    expect(fleet.calls.failures).toHaveLength(3)
    // The fleet lets this replica probe, but its local breaker is open: no request, and the
    // lease goes back unused so that another replica can probe at once.
    fleet.emit({ type: 'state', circuit, view: { state: 'open', retryAfterMs: 0 } })
    fleet.answers.acquire = { granted: true, kind: 'probe', token: 'lease-2' }
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    await settle()
    expect(fleet.calls.release.at(-1)).toEqual({ token: 'lease-2', outcome: 'unused' })
    expect((open.server as TestServer).requests).toBe(4)
  })

  it('a store that hangs or rejects sends the call to the local breaker alone: nothing hangs', async () => {
    await server()
    for (const answer of ['hang', 'reject'] as const) {
      const fleet = scriptedStore()
      const client = createUpstreamClient({
        baseUrl: (open.server as TestServer).origin,
        name: 'events',
        retry: false,
        breaker: { store: fleet.store },
      })
      const circuit = { name: 'events', operation: 'GET /getUserById' }
      fleet.emit({ type: 'state', circuit, view: { state: 'open', retryAfterMs: 0 } })
      fleet.answers.acquire = answer
      await expect(client.get('/getUserById/1')).resolves.toEqual({ ok: true })
      await client.close()
    }
    expect((open.server as TestServer).requests).toBe(2)
  })

  it('while the store is unavailable the fleet views are dropped; when it is back they are read again at once', async () => {
    await server()
    const fleet = scriptedStore()
    const client = createUpstreamClient({
      baseUrl: (open.server as TestServer).origin,
      name: 'events',
      retry: false,
      breaker: { store: fleet.store },
    })
    open.client = client
    const circuit = { name: 'events', operation: 'GET /getUserById' }
    fleet.emit({ type: 'state', circuit, view: { state: 'open', retryAfterMs: 60_000 } })
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    fleet.emit({ type: 'unavailable' })
    // The store is away: the local breaker (closed) decides alone, and nothing is asked.
    await client.get('/getUserById/1')
    await client.get('/getUserById/1')
    expect(fleet.calls.read).toEqual([])
    // Back: the operation this replica knew is read at once, before any call of its own, so an
    // opening it missed while away stops it at its next call.
    fleet.answers.read = { state: 'open', retryAfterMs: 60_000 }
    fleet.emit({ type: 'available' })
    expect(fleet.calls.read).toEqual([circuit])
    await settle()
    await expect(client.get('/getUserById/1')).rejects.toMatchObject({
      code: 'UPSTREAM_CIRCUIT_OPEN',
    })
    expect((open.server as TestServer).requests).toBe(2)
  })

  it('a shared breaker with a store gives every client the same fleet views; shutdown unsubscribes', async () => {
    await server()
    const fleet = scriptedStore()
    const breaker = createCircuitBreaker({ name: 'events', store: fleet.store })
    const a = createUpstreamClient({ baseUrl: (open.server as TestServer).origin, breaker })
    const b = createUpstreamClient({ baseUrl: (open.server as TestServer).origin, breaker })
    expect(fleet.listeners.size).toBe(1)
    fleet.emit({
      type: 'state',
      circuit: { name: 'events', operation: 'GET /getUserById' },
      view: { state: 'open', retryAfterMs: 60_000 },
    })
    for (const client of [a, b]) {
      await expect(client.get('/getUserById/1')).rejects.toMatchObject({
        code: 'UPSTREAM_CIRCUIT_OPEN',
      })
    }
    await Promise.all([a.close(), b.close()])
    breaker.shutdown()
    expect(fleet.listeners.size).toBe(0)
    expect((open.server as TestServer).requests).toBe(0)
  })
})
