import {
  type FleetRule,
  isBreakerStateStore,
  isUpstreamErrorCode,
} from '@userevents/upstream-client'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  createRedisBreakerStore,
  createRedisConnection,
  type RedisBreakerStore,
  type RedisConnection,
} from '../src/index.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

// The Redis breaker store in one process, against a real redis-server: the scripts' rules, keys
// and TTLs. The fleet behaviour across processes is in fleet-breaker.test.ts.

let server: RedisServer
let admin: Redis
const open: { connections: RedisConnection[]; stores: RedisBreakerStore[] } = {
  connections: [],
  stores: [],
}
beforeAll(async () => {
  server = await startRedisServer()
  admin = new Redis(server.url)
})
afterAll(async () => {
  admin.disconnect()
  await server.stop()
})
afterEach(async () => {
  for (const store of open.stores.splice(0)) store.close()
  await Promise.all(open.connections.splice(0).map((c) => c.close()))
  await admin.flushall()
})

/** A replica's store on its own connection. */
async function replica(replicaId: string, quorum = 2): Promise<RedisBreakerStore> {
  const connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1_000 })
  open.connections.push(connection)
  await connection.ready()
  const store = createRedisBreakerStore({ connection, namespace: 'bs', quorum, replicaId })
  open.stores.push(store)
  return store
}

const rule: FleetRule = {
  failureThreshold: 3,
  windowMs: 30_000,
  resetTimeoutMs: 60_000,
  rampLimit: 8,
}
const circuit = { name: 'events', operation: 'GET /getUserById' }

describe('createRedisBreakerStore against a real redis-server', () => {
  it('is a branded BreakerStateStore; bad options name the option', () => {
    const connection = createRedisConnection({ url: server.url })
    open.connections.push(connection)
    const store = createRedisBreakerStore({ connection, namespace: 'bs' })
    open.stores.push(store)
    expect(isBreakerStateStore(store)).toBe(true)
    expect(store.quorum).toBe(2)
    for (const [options, option] of [
      [{ connection, namespace: 'a b' }, 'namespace'],
      [{ connection, namespace: 'bs', quorum: 0 }, 'quorum'],
      [{ connection: {}, namespace: 'bs' }, 'connection'],
      [{ connection, namespace: 'bs', stateTtlMs: -1 }, 'stateTtlMs'],
      [{ connection, namespace: 'bs', ttl: 1 }, 'ttl'],
    ] as const) {
      const error = (() => {
        try {
          createRedisBreakerStore(options as never)
        } catch (e) {
          return e
        }
      })()
      expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_OPTION')).toBe(true)
      expect((error as { option: string }).option).toBe(option)
    }
  })

  it('opens at the threshold only with a quorum of replicas, tells every replica, and every key has a TTL', async () => {
    const [a, b, c] = await Promise.all([replica('A'), replica('B'), replica('C')])
    const heard: string[] = []
    c.subscribe((event) => {
      if (event.type === 'state') heard.push(`${event.circuit.operation}:${event.view.state}`)
    })
    for (let i = 0; i < 5; i++) {
      expect(await a.recordFailure(circuit, rule)).toEqual({ state: 'closed', retryAfterMs: 0 })
    }
    const opened = await b.recordFailure(circuit, rule)
    expect(opened).toEqual({ state: 'open', retryAfterMs: rule.resetTimeoutMs })
    await vi.waitFor(() => expect(heard).toEqual(['GET /getUserById:open']))
    expect((await c.read(circuit)).state).toBe('open')
    // Another operation of the same upstream is a circuit of its own.
    expect(await c.read({ ...circuit, operation: 'POST /addEvent' })).toEqual({
      state: 'closed',
      retryAfterMs: 0,
    })
    const keys = await admin.keys('*')
    expect(keys.length).toBeGreaterThan(0)
    for (const key of keys) {
      expect(key.startsWith('userevents:v2:{bs:events|GET /getUserById}:cb:')).toBe(true)
      expect(await admin.pttl(key)).toBeGreaterThan(0)
    }
  })

  it('leases exactly one probe past the reset time; only its token releases it; the outcome re-opens or ramps fleet-wide', async () => {
    const [a, b] = await Promise.all([replica('A', 1), replica('B', 1)])
    const fast: FleetRule = { ...rule, resetTimeoutMs: 30 }
    for (let i = 0; i < 3; i++) await a.recordFailure(circuit, fast)
    expect((await a.acquire(circuit, fast, 5_000)).granted).toBe(false)
    await vi.waitFor(async () => expect((await b.read(circuit)).retryAfterMs).toBe(0))
    const permits = await Promise.all([
      a.acquire(circuit, fast, 5_000),
      b.acquire(circuit, fast, 5_000),
      a.acquire(circuit, fast, 5_000),
    ])
    const granted = permits.filter((p) => p.granted)
    expect(granted).toHaveLength(1)
    expect(permits.filter((p) => !p.granted).map((p) => !p.granted && p.view.state)).toEqual([
      'halfOpen',
      'halfOpen',
    ])
    // A wrong token changes nothing.
    expect(await b.release(circuit, fast, 'not-the-token', 'failure')).toMatchObject({
      state: 'halfOpen',
    })
    const token = granted[0]?.granted ? granted[0].token : ''
    expect(await a.release(circuit, fast, token, 'failure')).toEqual({
      state: 'open',
      retryAfterMs: 30,
    })
    // Next period: the probe succeeds and the ramp starts with 2 slots for the whole fleet.
    await vi.waitFor(async () => expect((await b.read(circuit)).retryAfterMs).toBe(0))
    const probe = await b.acquire(circuit, fast, 5_000)
    expect(probe).toMatchObject({ granted: true, kind: 'probe' })
    const ramp = await b.release(circuit, fast, probe.granted ? probe.token : '', 'success')
    expect(ramp).toEqual({ state: 'recovering', retryAfterMs: 0 })
    const slots = await Promise.all([1, 2, 3].map(() => a.acquire(circuit, fast, 5_000)))
    expect(slots.map((s) => s.granted)).toEqual([true, true, false])
    // Each success doubles the allowance: 2 → 4 → 8 = rampLimit, closed.
    for (const slot of slots.filter((s) => s.granted)) {
      await a.release(circuit, fast, slot.granted ? slot.token : '', 'success')
    }
    expect(await a.read(circuit)).toEqual({ state: 'closed', retryAfterMs: 0 })
  })

  it('scripts are defined before the first command, so a script in the same tick as other commands works (ioredis auto-pipelining)', async () => {
    const connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1_000 })
    open.connections.push(connection)
    await connection.ready()
    const store = createRedisBreakerStore({ connection, namespace: 'bs' })
    open.stores.push(store)
    const [value, view] = await Promise.all([
      connection.run((redis) => redis.get('unrelated')),
      store.read(circuit),
    ])
    expect(value).toBeNull()
    expect(view.state).toBe('closed')
  })
})
