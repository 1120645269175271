import { once } from 'node:events'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createEventAggregator } from '@userevents/event-aggregator'
import { createMockUpstream, generateUserWithEvents } from '@userevents/mock-server'
import {
  createUpstreamClient,
  isUpstreamErrorCode,
  type SharedStaleEntry,
  UpstreamTimeoutError,
} from '@userevents/upstream-client'
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisConnection, createRedisStore, type RedisStore } from '../src/index.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

let server: RedisServer
const stores: RedisStore[] = []
let admin: Redis
beforeAll(async () => {
  server = await startRedisServer()
  admin = new Redis(server.url)
  admin.on('error', () => {})
})
afterAll(async () => {
  admin.disconnect()
  await server.stop()
})
afterEach(async () => {
  await Promise.all(stores.splice(0).map((s) => s.close()))
  if (server.pid === undefined) await server.restart()
  await admin.flushall()
})

let n = 0
/** A store on its own connections, as a separate replica would have. */
const replica = async (options: Partial<Parameters<typeof createRedisStore>[0]> = {}) => {
  const store = createRedisStore({
    url: server.url,
    namespace: `t${n}`,
    breaker: { resetTimeoutMs: 50 },
    ...options,
  })
  stores.push(store)
  await store.connection.ready({ timeoutMs: 10_000 })
  return store
}
/** A v2 fetch answering `value`, fresh for `freshMs`, that counts its calls. */
const counting = <T>(value: T, delayMs = 0, freshMs = 10_000) => {
  const fetch = async () => {
    fetch.calls++
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
    return { value, freshMs }
  }
  fetch.calls = 0
  return fetch
}

describe('createRedisStore against a real redis-server', () => {
  it('shares a value between replicas, with its remaining TTL', async () => {
    n++
    const [a, b] = await Promise.all([replica(), replica()])
    const fetch = counting({ id: '1', name: 'x' })
    const first = await a.load('k', fetch)
    expect(first).toMatchObject({ source: 'fetch', value: { id: '1' } })
    const second = await b.load('k', fetch)
    expect(second.source).toBe('store')
    expect(second.value).toEqual({ id: '1', name: 'x' })
    expect(second.freshMs).toBeGreaterThan(0)
    expect(second.freshMs).toBeLessThanOrEqual(10_000)
    expect(fetch.calls).toBe(1)
    // Keys are namespaced and versioned, and carry the TTL.
    const keys = await admin.keys('*')
    expect(keys).toEqual([`userevents:v2:{t${n}:k}:v`])
    expect(await admin.pttl(keys[0]!)).toBeGreaterThan(0)
  })

  it('fetches a cold key once for concurrent loads on several replicas', async () => {
    n++
    const replicas = await Promise.all([replica(), replica(), replica()])
    const fetch = counting('v', 30)
    const results = await Promise.all(
      replicas.flatMap((r) => [r.load('cold', fetch), r.load('cold', fetch)]),
    )
    expect(results.map((r) => r.value)).toEqual(['v', 'v', 'v', 'v', 'v', 'v'])
    expect(fetch.calls).toBe(1)
    expect(results.filter((r) => r.source === 'fetch')).toHaveLength(1)
    expect(replicas.reduce((sum, r) => sum + r.stats.waits, 0)).toBeGreaterThan(0)
    expect(await admin.keys('*l:*')).toEqual([]) // the lease was released
  })

  it('lets waiters fetch by themselves at once when the holder fails', async () => {
    n++
    const [a, b] = await Promise.all([replica(), replica()])
    let calls = 0
    const failing = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 30))
      throw new Error('upstream down')
    }
    const ok = counting('fresh')
    const [ra, rb] = await Promise.allSettled([
      a.load('k', failing),
      new Promise((r) => setTimeout(r, 5)).then(() => b.load('k', ok)),
    ])
    expect(ra.status).toBe('rejected')
    expect(rb).toMatchObject({ status: 'fulfilled', value: { value: 'fresh', source: 'local' } })
    expect(calls).toBe(1)
    expect(ok.calls).toBe(1)
    expect(b.stats.waits).toBe(1)
  })

  it('takes over when the holder died (its lease expires), within the wait', async () => {
    n++
    const b = await replica({ leaseMs: 100, pollMs: 20 })
    // A holder that took the lease and crashed: nobody will release or fill it.
    await admin.set(`userevents:v2:{t${n}:k}:l`, 'dead-holder', 'PX', 100, 'NX')
    const fetch = counting('v')
    const result = await b.load('k', fetch)
    expect(result.source).toBe('fetch')
    expect(fetch.calls).toBe(1)
    expect(await admin.get(`userevents:v2:{t${n}:k}:v`)).toMatch(/^\d+\|"v"$/)
  })

  it('stops waiting when its own wait runs out first, and fetches itself', async () => {
    n++
    const b = await replica({ leaseMs: 10_000, pollMs: 20 })
    await admin.set(`userevents:v2:{t${n}:k}:l`, 'slow-holder', 'PX', 10_000, 'NX')
    const fetch = counting('v')
    const result = await b.load('k', fetch, { waitMs: 60 })
    expect(result).toMatchObject({ source: 'local', value: 'v' })
    expect(fetch.calls).toBe(1)
  })

  it("bounds a client's wait for another replica's fetch by the call's deadline", async () => {
    n++
    const store = await replica({ leaseMs: 10_000, pollMs: 20 })
    // Another replica holds the lease of this GET and never fills it; the upstream hangs too.
    await admin.set(`userevents:v2:{t${n}:http:hung:/slow}:l`, 'slow-holder', 'PX', 10_000, 'NX')
    const requests: string[] = []
    const upstream = createServer((req) => {
      requests.push(req.url ?? '')
    })
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve))
    const client = createUpstreamClient({
      baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      name: 'hung',
      cache: { ttlMs: 1_000 },
      store,
      retry: false,
      timeoutMs: 350,
      deadlineMs: 400,
    })
    try {
      const error = await client.get('/slow').catch((e: unknown) => e)
      // The store's wait (half the deadline) and the fetch after it share the one deadline, so
      // the attempt gets what is left of it (~200 ms, the deadline cuts it), not a fresh 400 ms
      // deadline in which its own 350 ms timeout would fire first.
      expect(error).toBeInstanceOf(UpstreamTimeoutError)
      expect((error as UpstreamTimeoutError).phase).toBe('deadline')
      expect(requests).toEqual(['/slow'])
      expect(store.stats.waits).toBe(1)
    } finally {
      await client.close()
      upstream.closeAllConnections()
      await new Promise((resolve) => upstream.close(resolve))
    }
  })

  it('serves but does not store values over maxValueBytes', async () => {
    n++
    const a = await replica({ maxValueBytes: 100 })
    const big = 'x'.repeat(200)
    const result = await a.load('big', async () => ({ value: big, freshMs: 1_000 }))
    expect(result).toMatchObject({ source: 'local', value: big })
    expect(a.stats.notStored).toBe(1)
    expect(await admin.keys('*')).toEqual([])
  })

  it('degrades to local mode when Redis stops, and resumes fleet mode by itself', async () => {
    n++
    const a = await replica({ breaker: { resetTimeoutMs: 50, volumeThreshold: 2 } })
    const modes: string[] = []
    a.connection.onModeChange((change) => modes.push(change.mode))
    const fetch = counting('v')
    expect((await a.load('k', fetch)).source).toBe('fetch')
    await server.stop()
    // Every call is answered: by the local path once the circuit opened, never by a hang.
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => a.load(`down${i}`, fetch)),
    )
    expect(results.every((r) => r.source === 'local' && r.value === 'v')).toBe(true)
    await until(() => a.mode === 'local')
    expect(await a.load('k', fetch)).toMatchObject({ source: 'local' })
    await a.set('k', 'ignored', { freshMs: 1_000 }) // resolves while degraded
    await a.delete('k')
    await server.restart()
    // No traffic needed: the circuit's PING probe brings the replica back.
    await until(() => a.mode === 'fleet')
    expect(modes).toEqual(['local', 'fleet'])
    expect((await a.load('again', fetch)).source).toBe('fetch')
  })

  it('answers from the local path when Redis is slow (50 ms command timeout)', async () => {
    n++
    const a = await replica({ breaker: { resetTimeoutMs: 60_000, volumeThreshold: 2 } })
    const fetch = counting('v')
    // Redis holds every command for 300 ms (CLIENT PAUSE); each gives up after 50 ms and the
    // circuit opens.
    await admin.call('CLIENT', 'PAUSE', '300', 'ALL')
    const results = await Promise.all([1, 2, 3, 4].map((i) => a.load(`slow${i}`, fetch)))
    expect(results.map((r) => r.source)).toEqual(['local', 'local', 'local', 'local'])
    expect(fetch.calls).toBe(4)
    expect(a.mode).toBe('local')
    await admin.call('CLIENT', 'UNPAUSE')
  })

  it('answers from the local path when Redis is unreachable from the start', async () => {
    const store = createRedisStore({
      url: 'redis://127.0.0.1:1',
      namespace: 'nowhere',
      breaker: { volumeThreshold: 1 },
    })
    stores.push(store)
    const fetch = counting('v')
    const results = await Promise.all([1, 2, 3].map((i) => store.load(`k${i}`, fetch)))
    expect(results.map((r) => r.source)).toEqual(['local', 'local', 'local'])
    expect(fetch.calls).toBe(3)
  })

  it('ready() resolves to the mode within its bound, and never hangs while Redis is away', async () => {
    const up = createRedisConnection({ url: server.url })
    // Local until connected: nothing may be sent before then.
    expect(up.mode).toBe('local')
    expect(await up.ready({ timeoutMs: 5_000 })).toBe('fleet')
    expect(up.mode).toBe('fleet')
    await up.close()
    const down = createRedisConnection({ url: 'redis://127.0.0.1:1' })
    try {
      expect(await down.ready({ timeoutMs: 20 })).toBe('local')
      await expect(down.ready({ timeoutMs: -1 })).rejects.toThrow(
        'Expected `ready.timeoutMs` to be a non-negative number, got -1',
      )
      await expect(down.ready({ timeout: 1 } as never)).rejects.toThrow(
        'Unknown option `ready.timeout`',
      )
    } finally {
      await down.close()
    }
    // A closed connection answers at once, however long the caller would wait.
    expect(await down.ready({ timeoutMs: 600_000 })).toBe('local')
  })

  it('close() is not an outage: no warn line, no mode change emitted', async () => {
    const lines: Array<{ level: string; message?: string }> = []
    const logger = {
      child: () => logger,
      debug: () => {},
      info: (_: object, message?: string) => lines.push({ level: 'info', message }),
      warn: (_: object, message?: string) => lines.push({ level: 'warn', message }),
      error: (_: object, message?: string) => lines.push({ level: 'error', message }),
    }
    // An own client, closed by the test after close(), makes its 'close' event deterministic.
    const own = new Redis(server.url, { lazyConnect: true })
    own.on('error', () => {})
    await own.connect()
    const connection = createRedisConnection({ redis: own, logger })
    const changes: string[] = []
    connection.onModeChange((change) => changes.push(change.mode))
    expect(await connection.ready()).toBe('fleet')
    await connection.close()
    const ended = once(own, 'end')
    own.disconnect()
    await ended
    // A connection made from `url` too: its sockets are gone once Redis lists only `admin`.
    const fromUrl = createRedisConnection({ url: server.url, logger })
    expect(await fromUrl.ready()).toBe('fleet')
    fromUrl.onModeChange((change) => changes.push(change.mode))
    await fromUrl.close()
    await untilAsync(
      async () =>
        String(await admin.client('LIST'))
          .trim()
          .split('\n').length === 1,
    )
    await new Promise((r) => setTimeout(r, 20))
    expect(lines.filter((l) => l.level !== 'info')).toEqual([])
    expect(changes).toEqual([])
    expect(connection.mode).toBe('local')
  })

  it('rejects bad options with a typed error naming the option', () => {
    const messageOf = (options: unknown) => {
      try {
        createRedisStore(options as Parameters<typeof createRedisStore>[0])
      } catch (error) {
        expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_OPTION')).toBe(true)
        return (error as Error).message
      }
      throw new Error('accepted')
    }
    expect(messageOf({ url: server.url, namespace: 'a b' })).toBe(
      'Expected `namespace` to be 1 to 64 letters, digits, "_", "." or "-", got "a b"',
    )
    expect(messageOf({ url: 'http://x', namespace: 'a' })).toBe(
      'Expected `url` to be a redis:// or rediss:// URL, got "http://x"',
    )
    expect(messageOf({ url: server.url, namespace: 'a', leaseMs: 0 })).toBe(
      'Expected `leaseMs` to be a positive integer, got 0',
    )
    expect(messageOf({ url: server.url, namespace: 'a', ttl: 1 })).toContain('Unknown option `ttl`')
    expect(() =>
      createRedisConnection({ url: server.url, breaker: { errorThresholdPercentage: 150 } }),
    ).toThrow('Expected `breaker.errorThresholdPercentage` to be a percentage in (0, 100], got 150')
  })
})

/** {@link until} for an asynchronous check. */
async function untilAsync(check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s')
    await new Promise((r) => setTimeout(r, 10))
  }
}
describe('contract v2: lifetimes decided after the fetch', () => {
  it('keeps an entry exactly keepMs (its PTTL), fresh until a time of the Redis server', async () => {
    n++
    // This replica's clock is an hour ahead of Redis: freshness must not depend on it.
    const a = await replica({
      clock: {
        now: () => Date.now() + 3_600_000,
        setTimeout: (callback, ms) => setTimeout(callback, ms),
        clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
      },
    })
    await a.load('k', async () => ({ value: 'v', freshMs: 5_000, keepMs: 60_000 }))
    const key = `userevents:v2:{t${n}:k}:v`
    const pttl = await admin.pttl(key)
    expect(pttl).toBeGreaterThan(59_000)
    expect(pttl).toBeLessThanOrEqual(60_000)
    // The entry holds its fresh-until in Redis time (TIME), not in any replica's clock.
    const [seconds, micros] = await admin.time()
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000)
    const [freshUntil, json] = String(await admin.get(key)).split('|')
    expect(json).toBe('"v"')
    expect(Number(freshUntil) - redisNow).toBeGreaterThan(4_000)
    expect(Number(freshUntil) - redisNow).toBeLessThanOrEqual(5_000)
    await a.set('s', { x: 1 }, { freshMs: 1_000, keepMs: 30_000 })
    expect(await admin.pttl(`userevents:v2:{t${n}:s}:v`)).toBeGreaterThan(29_000)
    expect((await a.load('s', counting('unused'))).value).toEqual({ x: 1 })
  })

  it('a hit reports the freshness left, not the time the entry is kept', async () => {
    n++
    const [a, b] = await Promise.all([replica(), replica()])
    await a.load('k', async () => ({ value: 'v', freshMs: 5_000, keepMs: 60_000 }))
    await new Promise((r) => setTimeout(r, 150))
    const fetch = counting('unused')
    const hit = await b.load('k', fetch)
    expect(hit).toMatchObject({ source: 'store', value: 'v' })
    expect(hit.freshMs).toBeGreaterThan(0)
    expect(hit.freshMs).toBeLessThanOrEqual(4_900)
    expect(fetch.calls).toBe(0)
  })

  it('hands a stale entry to exactly one fetcher; the other replicas wait for its value', async () => {
    n++
    const replicas = await Promise.all([replica(), replica(), replica()])
    await replicas[0]!.load('k', async () => ({ value: 1, freshMs: 30, keepMs: 60_000 }))
    await new Promise((r) => setTimeout(r, 60))
    const stales: Array<SharedStaleEntry<number> | undefined> = []
    const revalidate = async (stale?: SharedStaleEntry<number>) => {
      stales.push(stale)
      await new Promise((r) => setTimeout(r, 30))
      return { value: (stale?.value ?? 0) + 1, freshMs: 60_000 }
    }
    const results = await Promise.all(replicas.map((r) => r.load('k', revalidate)))
    expect(stales).toEqual([{ value: 1, bytes: 1 }])
    expect(results.map((r) => r.value)).toEqual([2, 2, 2])
    expect(results.map((r) => r.source).sort()).toEqual(['fetch', 'store', 'store'])
    expect(replicas.reduce((sum, r) => sum + r.stats.revalidations, 0)).toBe(1)
  })

  it('store: false stores nothing and drops a stale entry; the waiters fetch by themselves', async () => {
    n++
    const [a, b] = await Promise.all([replica(), replica()])
    await a.load('k', async () => ({ value: 'old', freshMs: 10, keepMs: 60_000 }))
    await new Promise((r) => setTimeout(r, 30))
    let calls = 0
    const unshared = async () => {
      calls++
      await new Promise((r) => setTimeout(r, 20))
      return { value: 'private', store: false as const }
    }
    const results = await Promise.all([a.load('k', unshared), b.load('k', unshared)])
    expect(results.map((r) => [r.value, r.source])).toEqual([
      ['private', 'local'],
      ['private', 'local'],
    ])
    expect(calls).toBe(2)
    expect(await admin.keys('*')).toEqual([])
    expect(a.stats.notStored + b.stats.notStored).toBe(1)
  })

  it('the aggregator shares users and events, and leaves no key for a no-store event', async () => {
    n++
    const data = generateUserWithEvents(3, { userId: 'u3' })
    const mock = createMockUpstream({
      mode: 'healthy',
      delays: 0,
      data,
      cacheHeaders: { getEventById: { cacheControl: 'no-store' } },
    })
    const server = await mock.listen()
    const client = createUpstreamClient({ baseUrl: server.url, retry: false, breaker: false })
    try {
      const [a, b] = await Promise.all([replica(), replica()])
      const page = await createEventAggregator({ client, store: a }).getEventsByUserId('u3')
      await createEventAggregator({ client, store: b }).getEventsByUserId('u3')
      expect(page.items).toHaveLength(3)
      expect(mock.calls('getUserById')).toBe(1)
      expect(mock.calls('getEventById')).toBe(6)
      expect(await admin.keys('*')).toEqual([`userevents:v2:{t${n}:user:u3}:v`])
      expect(await admin.pttl(`userevents:v2:{t${n}:user:u3}:v`)).toBeLessThanOrEqual(5_000)
    } finally {
      await client.close()
      await server.close()
    }
  })
})

describe('load and set arguments', () => {
  it('rejects a bad waitMs or set lifetime before any Redis command', async () => {
    n++
    const a = await replica()
    const fetch = counting('v')
    await expect(a.load('k', fetch, { waitMs: 0 })).rejects.toThrow(
      'Expected `waitMs` to be a positive number, got 0',
    )
    for (const [options, message] of [
      [{ freshMs: -1 }, 'Expected `freshMs` to be a non-negative number, got -1'],
      [{ freshMs: Number.NaN }, 'Expected `freshMs` to be a non-negative number, got NaN'],
      [{}, 'Expected `freshMs` to be a non-negative number, got undefined'],
      [
        { freshMs: 100, keepMs: 50 },
        'Expected `keepMs` to be a number of ms not below freshMs (100), got 50',
      ],
      [
        { freshMs: 1, keepMs: Number.POSITIVE_INFINITY },
        'Expected `keepMs` to be a non-negative number, got Infinity',
      ],
    ] as const) {
      const error = await a.set('k', 'v', options as never).catch((e: unknown) => e)
      expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_OPTION')).toBe(true)
      expect((error as Error).message).toBe(message)
    }
    expect(fetch.calls).toBe(0)
    expect(await admin.keys('*')).toEqual([])
  })

  it('rejects a fetch result with a bad lifetime, releasing its lease at once', async () => {
    n++
    const [a, b] = await Promise.all([replica(), replica({ waitMs: 10_000, pollMs: 20 })])
    const error = await a
      .load('k', async () => ({ value: 'v', freshMs: -5 }))
      .catch((e: unknown) => e)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_OPTION')).toBe(true)
    expect((error as Error).message).toBe('Expected `freshMs` to be a non-negative number, got -5')
    expect(await admin.keys('*')).toEqual([])
    // A replica asking for the key next is not stuck behind a lease nobody will release.
    const fetch = counting('v')
    expect(await b.load('k', fetch)).toMatchObject({ source: 'fetch', value: 'v' })
    expect(b.stats.waits).toBe(0)
  })
})

/** Polls `check` every 10 ms, failing after 5 s (the condition is a state, not a duration). */
async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached within 5 s')
    await new Promise((r) => setTimeout(r, 10))
  }
}
