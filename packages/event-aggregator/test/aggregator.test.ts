import { isUpstreamErrorCode } from '@userevents/upstream-client'
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  AggregatorValidationError,
  createEventAggregator,
  isAggregatorError,
  isAggregatorErrorCode,
  UpstreamUnavailableError,
  UserNotFoundError,
} from '../src/index.js'
import { splitClient, startUpstream, type Upstream, usersWithEvents, without } from './helpers.js'

let upstream: Upstream | undefined
/** Further upstreams started by a test; closed after it too. */
const extra: Upstream[] = []
afterEach(async () => {
  await upstream?.close()
  upstream = undefined
  await Promise.all(extra.splice(0).map((u) => u.close()))
})

const start = async (...args: Parameters<typeof startUpstream>) => {
  upstream = await startUpstream(...args)
  return upstream
}

describe('getEventsByUserId against the mock server', () => {
  it.each([0, 1, 50, 51, 500])('pages a user with %i events, keeping the user order', async (n) => {
    const data = usersWithEvents()
    const { client, mock } = await start({ data })
    const aggregator = createEventAggregator({ client, maxLimit: 500 })
    const user = data.users.find((u) => u.id === `u${n}`)!
    const first = await aggregator.getEventsByUserId(user.id)
    expect(first.total).toBe(n)
    expect(first.limit).toBe(50)
    expect(first.offset).toBe(0)
    expect(first.missing).toEqual([])
    expect(first.items.map((e) => e.id)).toEqual(user.events.slice(0, 50))
    // Pagination first: only the page's events were fetched.
    expect(mock.calls('getEventById')).toBe(Math.min(n, 50))
    expect(mock.calls('getUserById')).toBe(1)

    const all = await aggregator.getEventsByUserId(user.id, { limit: 500 })
    expect(all.items.map((e) => e.id)).toEqual(user.events)
    expect(all.items[0]).toEqual(n === 0 ? undefined : mock.store.getEvent(user.events[0]!))
    // Everything of the first page came from the cache.
    expect(mock.calls('getEventById')).toBe(n)
  })

  it('names its operations, so each route gets its own breaker and limits', async () => {
    const data = usersWithEvents([3])
    const { client } = await start({ data }, { breaker: {} })
    const operations: string[] = []
    client.onRequest((e) => operations.push(e.operation))
    await createEventAggregator({ client }).getEventsByUserId('u3')
    await createEventAggregator({ client, batch: {} }).getEventsByUserId('u3')
    expect(new Set(operations)).toEqual(new Set(['getUserById', 'getEventById', 'getEventsByIds']))
    expect(Object.keys(client.circuitStates()).sort()).toEqual([
      'getEventById',
      'getEventsByIds',
      'getUserById',
    ])
  })

  it('slices pages by limit and offset, and pages past the end are empty', async () => {
    const data = usersWithEvents([51])
    const { client, mock } = await start({ data })
    const aggregator = createEventAggregator({ client })
    const ids = data.users[0]!.events
    const second = await aggregator.getEventsByUserId('u51', { offset: 50 })
    expect(second).toMatchObject({ total: 51, limit: 50, offset: 50, missing: [] })
    expect(second.items.map((e) => e.id)).toEqual([ids[50]])
    const middle = await aggregator.getEventsByUserId('u51', { limit: 3, offset: 10 })
    expect(middle.items.map((e) => e.id)).toEqual(ids.slice(10, 13))
    const past = await aggregator.getEventsByUserId('u51', { limit: 10, offset: 51 })
    expect(past).toEqual({ items: [], total: 51, limit: 10, offset: 51, missing: [] })
    const far = await aggregator.getEventsByUserId('u51', { offset: 10_000 })
    expect(far.items).toEqual([])
    expect(mock.calls('getEventById')).toBe(4)
  })

  it('rejects a bad limit, offset, field or user id with a validation error naming it', async () => {
    const { client, mock } = await start({ data: usersWithEvents([1]) })
    const aggregator = createEventAggregator({ client, maxLimit: 100 })
    const cases: [unknown, string][] = [
      [{ limit: 0 }, 'Expected `limit` to be an integer between 1 and 100, got 0'],
      [{ limit: 101 }, 'Expected `limit` to be an integer between 1 and 100, got 101'],
      [{ limit: '10' }, 'Expected `limit` to be an integer between 1 and 100, got "10"'],
      [{ offset: -1 }, 'Expected `offset` to be an integer >= 0, got -1'],
      [{ offset: 1.5 }, 'Expected `offset` to be an integer >= 0, got 1.5'],
      [{ fields: ['name', 'secret'] }, 'Expected `fields[1]` to be one of'],
    ]
    for (const [options, message] of cases) {
      const error = await aggregator
        .getEventsByUserId('u1', options as never)
        .catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AggregatorValidationError)
      expect(isAggregatorErrorCode(error, 'INVALID_ARGUMENT')).toBe(true)
      expect((error as Error).message).toContain(message)
    }
    const bad = (await aggregator
      .getEventsByUserId('u1', { fields: ['secret' as never] })
      .catch((e: unknown) => e)) as AggregatorValidationError
    expect(bad.field).toBe('fields[0]')
    expect(bad.value).toBe('secret')
    await expect(aggregator.getEventsByUserId('')).rejects.toThrow(
      'Expected `userId` to be a non-empty string, got ""',
    )
    // "." and ".." cannot be sent as a path segment: the caller's input (400), not a client
    // InvalidOptionError, which a service maps to 500 as its own bug.
    for (const id of ['.', '..']) {
      const error = await aggregator.getEventsByUserId(id).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AggregatorValidationError)
      expect((error as AggregatorValidationError).field).toBe('userId')
      const iterated = await aggregator
        .iterateEventsByUserId(id)
        .next()
        .catch((e: unknown) => e)
      expect(iterated).toBeInstanceOf(AggregatorValidationError)
    }
    expect(() => createEventAggregator({ client, defaultLimit: 500, maxLimit: 200 })).toThrow(
      'Expected `defaultLimit` to be an integer between 1 and 200, got 500',
    )
    // Only `maxLimit` set: the message says the 50 is the default the caller never wrote.
    expect(() => createEventAggregator({ client, maxLimit: 10 })).toThrow(
      'Expected `defaultLimit` to be an integer between 1 and 10 (`maxLimit`), got its default 50: set `defaultLimit` too when `maxLimit` is below 50',
    )
    expect(createEventAggregator({ client, maxLimit: 10, defaultLimit: 10 }).maxLimit).toBe(10)
    expect(createEventAggregator({ client }).maxLimit).toBe(200)
    // Validation happens before any upstream call.
    expect(mock.calls('getUserById')).toBe(0)
  })

  it('rejects an unknown option key at creation, listing the valid ones', () => {
    const client = { get: async <T>() => ({}) as T }
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { maxlimit: 10 },
        'maxlimit',
        'Unknown option `maxlimit`; expected one of client, concurrency, cache, userCache, batch, defaultLimit, maxLimit, staleIfError, clock, store',
      ],
      [
        { batch: { path: '/b', max: 5 } },
        'batch.max',
        'Unknown option `batch.max`; expected one of path, maxIds',
      ],
      [
        { cache: { ttl: 1_000 } },
        'cache.ttl',
        'Unknown option `cache.ttl`; expected one of ttlMs, max',
      ],
      [
        { userCache: { ttlMs: 1_000, maxSize: 5 } },
        'userCache.maxSize',
        'Unknown option `userCache.maxSize`; expected one of ttlMs, max',
      ],
    ]
    for (const [options, field, message] of cases) {
      const error = catchError(() => createEventAggregator({ client, ...options } as never))
      expect(error).toBeInstanceOf(AggregatorValidationError)
      expect(error).toMatchObject({ code: 'INVALID_ARGUMENT', field, message })
    }
    // A cache map is open: its other members (a Map's `size`, an LRU's settings) are not options.
    const map = Object.assign(new Map(), { note: 'mine' })
    expect(createEventAggregator({ client, cache: map, userCache: map }).events).toBeDefined()
  })

  it('throws a typed not-found error for an unknown user', async () => {
    const { client } = await start()
    const aggregator = createEventAggregator({ client })
    const error = await aggregator.getEventsByUserId('nobody').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UserNotFoundError)
    expect(isAggregatorErrorCode(error, 'USER_NOT_FOUND')).toBe(true)
    expect((error as UserNotFoundError).userId).toBe('nobody')
    expect(isUpstreamErrorCode((error as Error).cause, 'UPSTREAM_HTTP_STATUS')).toBe(true)
  })

  it('projects fields: only the chosen ones, always with id', async () => {
    const data = usersWithEvents([3])
    const { client, mock } = await start({ data })
    const aggregator = createEventAggregator({ client })
    const page = await aggregator.getEventsByUserId('u3', { fields: ['name'] })
    const id = data.users[0]!.events[0]!
    expect(page.items[0]).toEqual({ id, name: mock.store.getEvent(id)!.name })
    for (const item of page.items) expect(Object.keys(item)).toEqual(['id', 'name'])
    const ids = await aggregator.getEventsByUserId('u3', { fields: [] })
    expect(ids.items).toEqual(data.users[0]!.events.map((e) => ({ id: e })))
    const full = await aggregator.getEventsByUserId('u3')
    expect(Object.keys(full.items[0]!)).toEqual(['id', 'name', 'userId', 'details'])
    // Projections share the cache: one fetch per event in all.
    expect(mock.calls('getEventById')).toBe(3)
  })

  it('caches events and users, and reloads them after their TTL (injected clock)', async () => {
    const data = usersWithEvents([5])
    const { client, mock } = await start({ data })
    let now = 1_000
    const aggregator = createEventAggregator({
      client,
      cache: { ttlMs: 1_000, max: 100 },
      userCache: { ttlMs: 100, max: 10 },
      clock: { now: () => now },
    })
    await aggregator.getEventsByUserId('u5')
    expect(mock.calls()).toMatchObject({ getUserById: 1, getEventById: 5 })
    await aggregator.getEventsByUserId('u5', { fields: ['name'] })
    expect(mock.calls()).toMatchObject({ getUserById: 1, getEventById: 5 })
    now += 101 // the user expired, the events did not
    await aggregator.getEventsByUserId('u5')
    expect(mock.calls()).toMatchObject({ getUserById: 2, getEventById: 5 })
    now += 1_000 // both expired
    await aggregator.getEventsByUserId('u5')
    expect(mock.calls()).toMatchObject({ getUserById: 3, getEventById: 10 })
  })

  it('coalesces two concurrent requests for the same user into one set of upstream calls', async () => {
    const data = usersWithEvents([20])
    const { client, mock } = await start({ data, delays: { getEventById: 20, getUserById: 5 } })
    const aggregator = createEventAggregator({ client, cache: false, userCache: false })
    const [a, b] = await Promise.all([
      aggregator.getEventsByUserId('u20'),
      aggregator.getEventsByUserId('u20', { fields: ['name'] }),
    ])
    expect(a.items).toHaveLength(20)
    expect(b.items.map((e) => e.id)).toEqual(a.items.map((e) => e.id))
    expect(mock.calls()).toMatchObject({ getUserById: 1, getEventById: 20 })
  })

  it('lists missing and failed ids in `missing` with their codes, never dropping them', async () => {
    const full = usersWithEvents([6])
    const ids = full.users[0]!.events
    // One event too big for the client's body limit: a genuine per-id failure of the upstream.
    full.events.find((e) => e.id === ids[3])!.details = 'x'.repeat(5_000)
    const users = await startUpstream({ data: full })
    const events = await startUpstream(
      { data: without(full, [ids[1]!, ids[4]!]) },
      {
        maxBodyBytes: 2_000,
      },
    )
    extra.push(users, events)
    const aggregator = createEventAggregator({ client: splitClient(users, events) })
    const page = await aggregator.getEventsByUserId('u6')
    expect(page.total).toBe(6)
    expect(page.items.map((e) => e.id)).toEqual([ids[0], ids[2], ids[5]])
    expect(page.missing.map(({ id, code }) => ({ id, code }))).toEqual([
      { id: ids[1], code: 'EVENT_NOT_FOUND' },
      { id: ids[3], code: 'UPSTREAM_BODY_TOO_LARGE' },
      { id: ids[4], code: 'EVENT_NOT_FOUND' },
    ])
    expect(page.missing.map((m) => m.message)).toEqual([
      'The event was not found upstream',
      'The upstream sent an answer that cannot be read',
      'The event was not found upstream',
    ])
    expect(page.items.length + page.missing.length).toBe(page.total)
    // Failures are not cached: asking again asks the upstream again.
    await aggregator.getEventsByUserId('u6')
    expect(events.mock.calls('getEventById')).toBe(6 + 3)
  })

  it('fails with a typed error when the circuit is open and nothing is cached', async () => {
    const { client, mock } = await start(
      { data: usersWithEvents([3]) },
      { breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } },
    )
    const aggregator = createEventAggregator({ client })
    mock.setMode('down')
    await expect(aggregator.getEventsByUserId('u3')).rejects.toSatisfy((e: unknown) =>
      isUpstreamErrorCode(e, 'UPSTREAM_HTTP_STATUS'),
    )
    expect(client.circuitState).toBe('open')
    const error = await aggregator.getEventsByUserId('u3').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpstreamUnavailableError)
    expect(isAggregatorErrorCode(error, 'UPSTREAM_UNAVAILABLE')).toBe(true)
    expect((error as UpstreamUnavailableError).retryAfterMs).toBeGreaterThan(0)
    expect(mock.calls('getUserById')).toBe(1)
  })

  it('treats a spent quota (rateLimit) like an open circuit, without sending into the 429', async () => {
    // The mock allows one request a minute and says so in its headers; the client learns it.
    const { client, mock } = await start(
      { data: usersWithEvents([3]), quota: '1/min' },
      { rateLimit: true, deadlineMs: 2_000 },
    )
    const aggregator = createEventAggregator({ client })
    const error = await aggregator.getEventsByUserId('u3').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UpstreamUnavailableError)
    expect(isAggregatorErrorCode(error, 'UPSTREAM_UNAVAILABLE')).toBe(true)
    expect((error as Error).message).toContain('quota is spent')
    expect((error as UpstreamUnavailableError).retryAfterMs).toBeGreaterThan(0)
    // The user took the one token (its answer said r=0); the events were never sent.
    expect(mock.quotaStats()).toEqual({ admitted: 1, limited: 0 })
  })

  it('serves cached items while the circuit is open; expired ones only with staleIfError', async () => {
    const data = usersWithEvents([4])
    const ids = data.users[0]!.events
    const { client, mock, server } = await start(
      { data },
      { breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 } },
    )
    let now = 1_000
    const make = (staleIfError: boolean) =>
      createEventAggregator({
        client,
        staleIfError,
        cache: { ttlMs: 1_000 },
        userCache: { ttlMs: 1_000 },
        clock: { now: () => now },
      })
    const stale = make(true)
    const strict = make(false)
    await stale.getEventsByUserId('u4', { limit: 2 })
    await strict.getEventsByUserId('u4', { limit: 2 })
    mock.setMode('down')
    // Breakers are per operation: open both routes the aggregator uses.
    for (const operation of ['getEventById', 'getUserById']) {
      await expect(client.get(`/${operation}/x`, { operation })).rejects.toThrow()
    }
    expect(client.circuitStates()).toEqual({ getEventById: 'open', getUserById: 'open' })

    // Fresh cache: the cached half of the page is served, the rest is missing.
    const partial = await strict.getEventsByUserId('u4')
    expect(partial.items.map((e) => e.id)).toEqual(ids.slice(0, 2))
    expect(partial.missing.map((m) => [m.id, m.code])).toEqual([
      [ids[2], 'UPSTREAM_CIRCUIT_OPEN'],
      [ids[3], 'UPSTREAM_CIRCUIT_OPEN'],
    ])
    // The page goes to callers: the client's message (with the upstream's address and the
    // breaker's name) stays out of it.
    const origin = new URL(server.url).host
    for (const m of partial.missing) {
      expect(m.message).toBe('The upstream is unavailable (circuit open); retry later')
      expect(JSON.stringify(m)).not.toContain(origin)
      expect(JSON.stringify(m)).not.toContain(`'${client.name}'`)
    }

    now += 5_000 // everything expired
    const served = await stale.getEventsByUserId('u4', { limit: 2 })
    expect(served.items.map((e) => e.id)).toEqual(ids.slice(0, 2))
    expect(served.missing).toEqual([])
    await expect(strict.getEventsByUserId('u4', { limit: 2 })).rejects.toBeInstanceOf(
      UpstreamUnavailableError,
    )
  })

  it('aborts: rejects with the reason and cancels the upstream requests', async () => {
    const data = usersWithEvents([10])
    const { client, mock } = await start({ data, delays: { getEventById: 5_000 } })
    const aggregator = createEventAggregator({ client })
    const controller = new AbortController()
    const pending = aggregator.getEventsByUserId('u10', { signal: controller.signal })
    await vi.waitFor(() => expect(mock.inFlight('getEventById')).toBe(10), { timeout: 5_000 })
    controller.abort(new Error('caller went away'))
    await expect(pending).rejects.toThrow('caller went away')
    // The mock sees its requests go away long before their 5 s delay.
    await vi.waitFor(() => expect(mock.inFlight('getEventById')).toBe(0), { timeout: 5_000 })
    expect(aggregator.events.stats).toEqual({ active: 0, queued: 0, inFlightIds: 0 })
    // Nothing was cached from the aborted call.
    await expect(
      aggregator.getEventsByUserId('u10', { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ name: 'AbortError' })
  })

  it('never exceeds the concurrency cap, across concurrent callers', async () => {
    const data = usersWithEvents([120, 80])
    const { client, mock } = await start({ data, delays: { getEventById: 3 } })
    const aggregator = createEventAggregator({ client, concurrency: 8, maxLimit: 200 })
    const [a, b] = await Promise.all([
      aggregator.getEventsByUserId('u120', { limit: 120 }),
      aggregator.getEventsByUserId('u80', { limit: 80 }),
    ])
    expect(a.items).toHaveLength(120)
    expect(b.items).toHaveLength(80)
    expect(mock.calls('getEventById')).toBe(200)
    expect(mock.highWater('getEventById')).toBeLessThanOrEqual(8)
    // And the window is actually used, not serialised.
    expect(mock.highWater('getEventById')).toBeGreaterThanOrEqual(4)
  })

  it('uses the batch route with at most maxIds per call, with missing ids per id', async () => {
    const full = usersWithEvents([250])
    const ids = full.users[0]!.events
    const users = await startUpstream({ data: full })
    const events = await startUpstream({ data: without(full, [ids[3]!]) })
    extra.push(users, events)
    const aggregator = createEventAggregator({
      client: splitClient(users, events),
      batch: { maxIds: 100 },
      maxLimit: 300,
    })
    const page = await aggregator.getEventsByUserId('u250', { limit: 300 })
    expect(page.items.map((e) => e.id)).toEqual(ids.filter((id) => id !== ids[3]))
    expect(page.missing).toEqual([
      { id: ids[3], code: 'EVENT_NOT_FOUND', message: 'The event was not found upstream' },
    ])
    expect(events.mock.calls()).toMatchObject({ getEventsByIds: 3, getEventById: 0 })
  })

  it('falls back to single reads when the upstream has no batch route', async () => {
    const data = usersWithEvents([5])
    const { client, mock } = await start({ data })
    const aggregator = createEventAggregator({ client, batch: { path: '/noSuchBatchRoute' } })
    const first = await aggregator.getEventsByUserId('u5', { limit: 2 })
    expect(first.items).toHaveLength(2)
    const second = await aggregator.getEventsByUserId('u5', { offset: 2 })
    expect(second.items).toHaveLength(3)
    expect(mock.calls('getEventById')).toBe(5)
  })

  it('iterates over every page, prefetching at most one page ahead', async () => {
    const data = usersWithEvents([500, 0])
    const { client, mock } = await start({ data })
    const aggregator = createEventAggregator({ client, cache: false })
    const seen: string[] = []
    const sizes: number[] = []
    for await (const page of aggregator.iterateEventsByUserId('u500', {
      pageSize: 200,
      fields: ['name'],
    })) {
      sizes.push(page.items.length)
      seen.push(...page.items.map((e) => e.id))
      expect(Object.keys(page.items[0]!)).toEqual(['id', 'name'])
    }
    expect(sizes).toEqual([200, 200, 100])
    expect(seen).toEqual(data.users[0]!.events)
    expect(mock.calls()).toMatchObject({ getUserById: 1, getEventById: 500 })

    // Stopping early loads at most the current page and the prefetched one.
    mock.resetCalls()
    for await (const page of aggregator.iterateEventsByUserId('u500', { pageSize: 50 })) {
      expect(page.offset).toBe(0)
      break
    }
    expect(mock.calls('getEventById')).toBeLessThanOrEqual(100)
    let pages = 0
    for await (const _ of aggregator.iterateEventsByUserId('u0')) pages++
    expect(pages).toBe(0)
  })

  it('brands its errors so copies of the package recognise each other', () => {
    const error = new UserNotFoundError('x')
    expect(isAggregatorError(error)).toBe(true)
    expect(isAggregatorError({ code: 'USER_NOT_FOUND' })).toBe(false)
    expect(error.name).toBe('UserNotFoundError')
  })
})

describe('peekEventsByUserId: the page from the caches, synchronously, or nothing', () => {
  it('answers undefined cold and loads nothing; after a load, the same page with no upstream call', async () => {
    const data = usersWithEvents([51])
    const { client, mock } = await start({ data })
    const aggregator = createEventAggregator({ client })
    let requests = 0
    client.onRequest(() => requests++)
    // Two turns of the event loop: a load started in the background would have sent by then.
    const settle = () => new Promise((r) => setImmediate(r)).then(() => new Promise(setImmediate))
    expect(aggregator.peekEventsByUserId('u51', { limit: 10 })).toBeUndefined()
    await settle()
    expect(requests).toBe(0)

    const loaded = await aggregator.getEventsByUserId('u51', { limit: 10, fields: ['name'] })
    const calls = mock.calls('getUserById') + mock.calls('getEventById')
    const peeked = aggregator.peekEventsByUserId('u51', { limit: 10, fields: ['name'] })
    expect(peeked).not.toBeInstanceOf(Promise)
    expect(peeked).toEqual(loaded)
    // A page with events not loaded yet (offset 5: events 10 to 14) is not answered, and not
    // loaded either.
    const before = requests
    expect(aggregator.peekEventsByUserId('u51', { limit: 10, offset: 5 })).toBeUndefined()
    await settle()
    expect(requests).toBe(before)
    expect(mock.calls('getUserById') + mock.calls('getEventById')).toBe(calls)
  })

  it('throws the validation errors getEventsByUserId rejects with, before any lookup', async () => {
    const { client, mock } = await start({ data: usersWithEvents([1]) })
    const aggregator = createEventAggregator({ client, maxLimit: 20, defaultLimit: 10 })
    expect(() => aggregator.peekEventsByUserId('u1', { limit: 21 })).toThrow(
      AggregatorValidationError,
    )
    expect(() => aggregator.peekEventsByUserId('', {})).toThrow(/userId/)
    expect(() => aggregator.peekEventsByUserId('u1', { fields: ['nope' as 'name'] })).toThrow(
      /fields\[0\]/,
    )
    await expect(aggregator.getEventsByUserId('u1', { limit: 21 })).rejects.toThrow(
      AggregatorValidationError,
    )
    expect(mock.calls('getUserById')).toBe(0)
  })

  it('answers undefined for an aborted caller, even with the page cached', async () => {
    const { client } = await start({ data: usersWithEvents([1]) })
    const aggregator = createEventAggregator({ client })
    await aggregator.getEventsByUserId('u1')
    const signal = AbortSignal.abort(new Error('gone'))
    expect(aggregator.peekEventsByUserId('u1', { signal })).toBeUndefined()
    expect(aggregator.peekEventsByUserId('u1')?.total).toBe(1)
  })
})

describe('an async store passed as `cache` (issue 12)', () => {
  const asyncMap = () => {
    const m = new Map<string, unknown>()
    return {
      async get(key: string) {
        return m.get(key)
      },
      async set(key: string, value: unknown) {
        m.set(key, value)
      },
      async delete(key: string) {
        m.delete(key)
      },
      async clear() {
        m.clear()
      },
    }
  }

  it('rejects an object with async get/set at construction, naming the option', async () => {
    const { client, mock } = await start({ data: usersWithEvents([3]) })
    for (const field of ['cache', 'userCache'] as const) {
      let error: unknown
      try {
        // biome-ignore lint/suspicious/noExplicitAny: the bug is a type-level mismatch made at runtime
        createEventAggregator({ client, [field]: asyncMap() as any })
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(AggregatorValidationError)
      expect((error as AggregatorValidationError).field).toBe(field)
      expect((error as Error).message).toContain('`get` is async')
    }
    expect(mock.calls('getUserById')).toBe(0)
  })

  it('rejects the load with a typed error when a non-async get returns a promise', async () => {
    const { client, mock } = await start({ data: usersWithEvents([3]) })
    const m = asyncMap()
    const promiseMap = {
      get: (key: string) => m.get(key),
      set: (key: string, value: unknown) => m.set(key, value),
      delete: (key: string) => m.delete(key),
      clear: () => m.clear(),
    }
    // biome-ignore lint/suspicious/noExplicitAny: see above
    const aggregator = createEventAggregator({ client, cache: promiseMap as any })
    const error = await aggregator.getEventsByUserId('u3').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AggregatorValidationError)
    expect((error as AggregatorValidationError).field).toBe('cache')
    expect(mock.calls('getEventById')).toBe(0)
  })
})

describe('one cache per value: the client GET cache and the aggregator caches', () => {
  it("reads what the aggregator caches past the client's cache, so the TTLs never add up", async () => {
    const data = usersWithEvents([2])
    const { client, mock } = await start({ data }, { cache: { ttlMs: 60_000 } })
    const aggregator = createEventAggregator({ client })
    await aggregator.getEventsByUserId('u2')
    // The aggregator's entries expire (here: cleared); the next read must reach the upstream,
    // not an older copy in the client's cache.
    aggregator.users.clearAll()
    aggregator.events.clearAll()
    await aggregator.getEventsByUserId('u2')
    expect(mock.calls('getUserById')).toBe(2)
    expect(mock.calls('getEventById')).toBe(4)
  })

  it("uses the client's cache for what the aggregator does not keep", async () => {
    const data = usersWithEvents([2])
    const { client, mock } = await start({ data }, { cache: { ttlMs: 60_000 } })
    const aggregator = createEventAggregator({ client, userCache: false, cache: false })
    await aggregator.getEventsByUserId('u2')
    await aggregator.getEventsByUserId('u2')
    expect(mock.calls('getUserById')).toBe(1)
    expect(mock.calls('getEventById')).toBe(2)
  })
})

/** Private: what `fn` throws, or undefined. */
function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  return undefined
}
