import { describe, expect, it } from 'vitest'
import {
  type BudgetExhaustedEvent,
  createUpstreamClient,
  InvalidOptionError,
  isUpstreamErrorCode,
  type SharedStoreV1,
  sharedStoreKind,
  type UpstreamStep,
} from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

/** The README's token-refresh step (same code), with a token source a test can count. */
function refreshOn401(tokens: { current(): Promise<string>; refresh(): Promise<string> }) {
  const step: UpstreamStep = {
    name: 'refresh-token',
    scope: 'attempt',
    async run(attempt, next) {
      attempt.setHeader('authorization', `Bearer ${await tokens.current()}`)
      try {
        return await next()
      } catch (error) {
        if (attempt.status !== 401) throw error
        attempt.setHeader('authorization', `Bearer ${await tokens.refresh()}`)
        return next()
      }
    },
  }
  return step
}

/** A token source: `refresh()` issues the next token. */
function tokenSource() {
  let token = 'old'
  let refreshes = 0
  return {
    current: async () => token,
    refresh: async () => {
      refreshes++
      token = `new-${refreshes}`
      return token
    },
    get refreshes() {
      return refreshes
    },
  }
}

describe('user steps (the `steps` option)', () => {
  it('refreshes the token on a 401 and repeats the attempt once, on a real port', async () => {
    open.server = await startServer((req, res) => {
      if (req.headers.authorization === 'Bearer new-1') json(res, 200, { ok: true })
      else json(res, 401, { error: 'expired' })
    })
    const tokens = tokenSource()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      headers: { 'x-team': 'a' },
      steps: [refreshOn401(tokens)],
    })
    await expect(open.client.get('/me')).resolves.toEqual({ ok: true })
    expect(tokens.refreshes).toBe(1)
    expect(open.server.log.map((r) => r.headers.authorization)).toEqual([
      'Bearer old',
      'Bearer new-1',
    ])
    // A second 401 after the refresh is the caller's error: the step repeats once, not forever.
    open.server.log.length = 0
    const again = createUpstreamClient({
      baseUrl: open.server.origin,
      steps: [refreshOn401({ current: async () => 'bad', refresh: async () => 'worse' })],
    })
    const error = await again.get('/me').catch((e: unknown) => e)
    await again.close()
    expect(isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS') && error.status).toBe(401)
    expect(open.server.log.length).toBe(2)
  })

  it('a header set by a step goes out with that attempt only, never with other calls', async () => {
    open.server = await startServer((_req, res) => json(res, 200, {}))
    let n = 0
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      headers: { 'x-team': 'a' },
      steps: [
        {
          name: 'tag-first-call',
          scope: 'attempt',
          run: (attempt, next) => {
            if (++n === 1) attempt.setHeader('x-secret', 'only-once')
            return next()
          },
        },
      ],
    })
    // Reads share one header object per client; writes another.
    await open.client.get('/a')
    await open.client.get('/b')
    await open.client.post('/c', {})
    await open.client.get('/d', { headers: { 'x-extra': '1' } })
    const secrets = open.server.log.map((r) => r.headers['x-secret'])
    expect(secrets).toEqual(['only-once', undefined, undefined, undefined])
    expect(open.server.log.every((r) => r.headers['x-team'] === 'a')).toBe(true)
  })

  it('gives steps the response status and headers, and runs call steps once per call', async () => {
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 503, {}, { 'x-n': String(n) }) : json(res, 200, {}, { 'x-n': '2' }),
    )
    const seen: Array<[number, number, unknown]> = []
    let calls = 0
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { retries: 1, minDelayMs: 0, maxDelayMs: 0, jitter: false },
      steps: [
        {
          name: 'count-calls',
          scope: 'call',
          run: (_call, next) => {
            calls++
            return next()
          },
        },
        {
          name: 'read-headers',
          scope: 'attempt',
          run: (attempt, next) =>
            next().finally(() =>
              seen.push([attempt.number, attempt.status, attempt.responseHeaders?.['x-n']]),
            ),
        },
      ],
    })
    await open.client.get('/x')
    expect(calls).toBe(1)
    expect(seen).toEqual([
      [1, 503, '1'],
      [2, 200, '2'],
    ])
  })

  it.each([
    [[{ name: 'a', scope: 'request', run: async () => 1 }], 'steps[0].scope', '"request"'],
    [[{ name: '', scope: 'call', run: async () => 1 }], 'steps[0].name', '""'],
    [[{ name: 'a', scope: 'call' }], 'steps[0].run', 'undefined'],
    [
      [
        { name: 'a', scope: 'call', run: async () => 1 },
        { name: 'a', scope: 'attempt', run: async () => 1 },
      ],
      'steps[1].name',
      '"a"',
    ],
    ['x', 'steps', '"x"'],
  ])('rejects steps %j at creation, naming the value', (steps, option, shown) => {
    let error: unknown
    try {
      createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', steps: steps as never })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).option).toBe(option)
    expect((error as Error).message).toContain(`got ${shown}`)
  })
})

/** A v1 shared store (the first contract, still accepted): `load` waits `waitMs` on the clock, then fetches. */
function slowStore(clock: TestClock, waitMs: number): SharedStoreV1 & { loads: number } {
  const store = {
    kind: sharedStoreKind as typeof sharedStoreKind,
    loads: 0,
    load<T>(_key: string, fetch: () => Promise<T>, options: { ttlMs: number }) {
      store.loads++
      return new Promise<{ value: T; ttlMs: number; source: 'fetch' }>((resolve, reject) => {
        clock.setTimeout(() => {
          fetch().then((value) => resolve({ value, ttlMs: options.ttlMs, source: 'fetch' }), reject)
        }, waitMs)
      })
    },
    set: async () => {},
    delete: async () => {},
  }
  return store
}

describe('attempt state', () => {
  it('an attempt aborted on its own rejects alone; the call, other calls and the pool go on', async () => {
    const held: Array<() => void> = []
    open.server = await startServer((req, res) => {
      if (req.url === '/slow') held.push(() => json(res, 200, {}))
      else json(res, 200, { ok: 1 })
    })
    const sizes: number[] = []
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      steps: [
        {
          name: 'abandon-slow',
          scope: 'attempt',
          run: (attempt, next) => {
            // What a hedge that lost does: cancel its own attempt, never the caller's signal.
            if (attempt.call.path === '/slow') queueMicrotask(() => attempt.abort('hedge lost'))
            return next().finally(() => sizes.push(attempt.responseBytes))
          },
        },
      ],
    })
    const caller = new AbortController()
    const slow = open.client.get('/slow', { signal: caller.signal }).catch((e: unknown) => e)
    const fast = open.client.get('/fast', { signal: caller.signal })
    expect(isUpstreamErrorCode(await slow, 'UPSTREAM_ABORTED')).toBe(true)
    await expect(fast).resolves.toEqual({ ok: 1 })
    expect(caller.signal.aborted).toBe(false)
    expect(sizes).toContain(JSON.stringify({ ok: 1 }).length)
    for (const release of held) release()
  })

  it('past maxOperations, the retry budget and the adaptive limit share the (other) entry', async () => {
    open.server = await startServer((_req, res, n) => json(res, n % 2 === 1 ? 503 : 200, {}))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      maxOperations: 1,
      adaptiveLimit: true,
      breaker: false,
      retry: { retries: 1, minDelayMs: 0, maxDelayMs: 0, jitter: false },
    })
    for (const op of ['a', 'b', 'c', 'd']) await open.client.get(`/${op}`)
    expect(open.server.requests).toBe(8)
    expect(open.client.limit('c')).toBe(open.client.limit('d'))
  })
})

describe('the order of the call steps', () => {
  it('a cached GET starts its deadline before the shared tier: a wait there spends it', async () => {
    open.server = await startServer((_req, res) => json(res, 200, { ok: 1 }))
    const clock = new TestClock()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      cache: { ttlMs: 10_000 },
      store: slowStore(clock, 300),
      deadlineMs: 1_000,
      timeoutMs: 5_000,
    })
    const pending = open.client.get('/x')
    clock.advance(300)
    await expect(pending).resolves.toEqual({ ok: 1 })
    // The attempt's budget, sent upstream, is what the deadline had left after the store's wait.
    expect(open.server.log[0]?.headers['x-request-timeout-ms']).toBe('700')
  })

  it('stale-if-error wraps the shared tier: a failed fetch through the store is served stale', async () => {
    open.server = await startServer((_req, res, n) =>
      n === 1 ? json(res, 200, { v: 1 }) : json(res, 503, {}),
    )
    const clock = new TestClock()
    const store = slowStore(clock, 0)
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      retry: false,
      cache: { ttlMs: 100, staleIfError: true },
      store,
    })
    const first = open.client.get('/x')
    clock.advance(0)
    await expect(first).resolves.toEqual({ v: 1 })
    clock.advance(200)
    const stale = open.client.get('/x')
    clock.advance(0)
    await expect(stale).resolves.toEqual({ v: 1 })
    // Served around the store, so the stale answer is neither shared nor cached as fresh: the
    // next call asks the store and the upstream again, and is answered stale again.
    const again = open.client.get('/x')
    clock.advance(0)
    await expect(again).resolves.toEqual({ v: 1 })
    expect(store.loads).toBe(3)
    expect(open.server.requests).toBe(3)
  })

  it('a coalesced follower races its own deadline, the leader keeps waiting', async () => {
    const held: Array<() => void> = []
    open.server = await startServer((_req, res) => {
      held.push(() => json(res, 200, { ok: 1 }))
    })
    const clock = new TestClock()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      cache: { ttlMs: 1_000 },
      deadlineMs: 10_000,
    })
    const leader = open.client.get('/x')
    const follower = open.client.get('/x', { deadlineMs: 100 }).catch((e: unknown) => e)
    clock.advance(100)
    const error = await follower
    expect(isUpstreamErrorCode(error, 'UPSTREAM_TIMEOUT') && error.phase).toBe('deadline')
    while (held.length === 0) await new Promise((resolve) => setImmediate(resolve))
    held.shift()?.()
    await expect(leader).resolves.toEqual({ ok: 1 })
    expect(open.server.requests).toBe(1)
  })

  it('the retry budget counts a call on its first attempt, below the breaker', async () => {
    open.server = await startServer((_req, res) => json(res, 503, {}))
    const refusals: BudgetExhaustedEvent[] = []
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { retries: 1, budget: { ratio: 0, minRetriesPerSecond: 0 } },
      breaker: { failureThreshold: 1, resetTimeoutMs: 20 },
    })
    const client = open.client
    open.client.onBudgetExhausted((event) => refusals.push(event))
    await open.client.get('/x').catch(() => undefined)
    // Refused by the open circuit: nothing was sent, so nothing is counted.
    for (let i = 0; i < 5; i++) await open.client.get('/x').catch(() => undefined)
    // A window scaled down to milliseconds: the circuit lets a probe through after 20 ms.
    while (client.circuitState === 'open') await new Promise((r) => setTimeout(r, 5))
    await client.get('/x').catch(() => undefined) // the half-open probe
    expect(open.server.requests).toBe(2)
    expect(refusals.map((r) => r.calls)).toEqual([1, 2])
  })
})
