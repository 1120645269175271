import type http from 'node:http'
import { describe, expect, it } from 'vitest'
import {
  type CallOutcome,
  createUpstreamClient,
  isSharedStore,
  type SharedFetch,
  type SharedLoadV2Result,
  type SharedStore,
  type SharedStoreV1,
  sharedStoreKind,
  sharedStoreV2Kind,
  toSharedStore,
  type UpstreamClient,
} from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'

// The shared-store contract (v2, and v1 still accepted), with hand-written in-memory stores on a
// manual clock in front of a real node:http upstream. The Redis store is tested in
// @userevents/redis (http-cache-fleet.test.ts).

const open = closeAfterEach()
const more: UpstreamClient[] = []

/** An upstream sending `cc` with an ETag, answering a matching If-None-Match with 304. */
function etagged(cc: string, seen: Array<string | undefined>) {
  return (req: http.IncomingMessage, res: http.ServerResponse, n: number) => {
    const inm = req.headers['if-none-match']
    seen.push(inm)
    if (inm === '"v1"') {
      res.writeHead(304, { etag: '"v1"', 'cache-control': cc })
      res.end()
      return
    }
    json(res, 200, { n }, { etag: '"v1"', 'cache-control': cc })
  }
}

/** A replica: its own client and local cache on the shared `store`. */
function replica(
  origin: string,
  clock: TestClock,
  store: SharedStore | SharedStoreV1,
  outcomes: CallOutcome[],
): UpstreamClient {
  const client = createUpstreamClient({
    baseUrl: origin,
    clock,
    cache: { ttlMs: 10_000 },
    store,
    retry: false,
    breaker: false,
  })
  more.push(client)
  client.onCallEnd((e) => outcomes.push(e.outcome))
  return client
}

async function closeMore() {
  await Promise.all(more.splice(0).map((c) => c.close()))
}

describe('a v1 shared store (ttl fixed before the fetch) still works', () => {
  it("shares a fill, shortens it to the answer's max-age, and keeps no-store answers out", async () => {
    const clock = new TestClock()
    const store = v1Store(clock)
    const seen: Array<string | undefined> = []
    open.server = await startServer((req, res, n) => {
      if (req.url === '/private') return json(res, 200, { n }, { 'cache-control': 'no-store' })
      etagged('max-age=2', seen)(req, res, n)
    })
    const outcomes: CallOutcome[] = []
    const [a, b, c] = [1, 2, 3].map(() => replica(open.server!.origin, clock, store, outcomes))
    try {
      expect(await a!.get('/x')).toEqual({ n: 1 })
      expect(await b!.get('/x')).toEqual({ n: 1 })
      expect(outcomes).toEqual(['upstream', 'store'])
      // Loaded with the cache's ttlMs, then set again to the answer's 2 s.
      expect(store.loads.map((l) => l.ttlMs)).toEqual([10_000, 10_000])
      expect(store.sets).toEqual([2_000])
      clock.advance(2_001)
      // v1 keeps nothing past freshness: a replica without a local copy fetches in full.
      expect(await c!.get('/x')).toEqual({ n: 2 })
      expect(seen).toEqual([undefined, undefined])

      expect(await a!.get('/private')).toEqual({ n: 3 })
      expect(await b!.get('/private')).toEqual({ n: 4 })
      expect([...store.entries.keys()].some((k) => k.endsWith('/private'))).toBe(false)
    } finally {
      await closeMore()
    }
  })
})

describe('a v2 shared store', () => {
  it('revalidates an expired shared entry with one conditional request, even for a replica without a local copy', async () => {
    const clock = new TestClock()
    const store = v2Store(clock)
    const seen: Array<string | undefined> = []
    open.server = await startServer(etagged('max-age=1', seen))
    const outcomes: CallOutcome[] = []
    const a = replica(open.server.origin, clock, store, outcomes)
    const b = replica(open.server.origin, clock, store, outcomes)
    try {
      expect(await a.get('/x')).toEqual({ n: 1 })
      expect(await b.get('/x')).toEqual({ n: 1 })
      // Fresh 1 s, kept 1 s + ttlMs (10 s) for its ETag.
      expect(store.writes).toEqual([{ freshMs: 1_000, keepMs: 11_000 }])
      clock.advance(1_500)
      // A replica started now: no local entry, the shared one is stale.
      const restarted = replica(open.server.origin, clock, store, outcomes)
      outcomes.length = 0
      expect(await restarted.get('/x')).toEqual({ n: 1 })
      expect(await a.get('/x')).toEqual({ n: 1 })
      expect(await b.get('/x')).toEqual({ n: 1 })
      expect(seen).toEqual([undefined, '"v1"'])
      expect(outcomes).toEqual(['revalidated', 'store', 'store'])
      expect(store.writes).toHaveLength(2)
      // The 304 also refreshed the restarted replica's local cache (it had no entry before):
      // it answers from there, with no request and without asking the store.
      outcomes.length = 0
      expect(await restarted.get('/x')).toEqual({ n: 1 })
      expect(outcomes).toEqual(['cache'])
      expect(seen).toHaveLength(2)
    } finally {
      await closeMore()
    }
  })

  it("writes the shared entry refreshed by a 304 with the 304's own caching headers", async () => {
    const clock = new TestClock()
    const store = v2Store(clock)
    const seen: Array<string | undefined> = []
    // max-age=1 on the first answer, max-age=3 on the 304 that revalidates it.
    open.server = await startServer((req, res, n) => {
      const inm = req.headers['if-none-match']
      seen.push(inm)
      if (inm === '"v1"') {
        res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=3' })
        res.end()
        return
      }
      json(res, 200, { n }, { etag: '"v1"', 'cache-control': 'max-age=1' })
    })
    const outcomes: CallOutcome[] = []
    const a = replica(open.server.origin, clock, store, outcomes)
    try {
      expect(await a.get('/x')).toEqual({ n: 1 })
      clock.advance(1_500)
      // A fresh replica revalidates the stale shared entry.
      const restarted = replica(open.server.origin, clock, store, outcomes)
      expect(await restarted.get('/x')).toEqual({ n: 1 })
      expect(seen).toEqual([undefined, '"v1"'])
      expect(outcomes).toEqual(['upstream', 'revalidated'])
      // Fresh for the 304's 3 s (not the stored 1 s), kept 3 s + ttlMs (10 s) for its ETag.
      expect(store.writes).toEqual([
        { freshMs: 1_000, keepMs: 11_000 },
        { freshMs: 3_000, keepMs: 13_000 },
      ])
    } finally {
      await closeMore()
    }
  })

  it('keeps no-store answers out through the contract (store: false), without failing the fetch', async () => {
    const clock = new TestClock()
    const store = v2Store(clock)
    open.server = await startServer((_req, res, n) =>
      json(res, 200, { n }, { 'cache-control': 'no-store' }),
    )
    const outcomes: CallOutcome[] = []
    const a = replica(open.server.origin, clock, store, outcomes)
    try {
      expect(await a.get('/x')).toEqual({ n: 1 })
      expect(await a.get('/x')).toEqual({ n: 2 })
      expect(store.entries.size).toBe(0)
      expect(store.results).toEqual(['local', 'local'])
    } finally {
      await closeMore()
    }
  })
})

describe('the contract helpers', () => {
  it('isSharedStore accepts both brands; toSharedStore passes a v2 store through', () => {
    const clock = new TestClock()
    const v2 = v2Store(clock)
    const v1 = v1Store(clock)
    expect(isSharedStore(v2)).toBe(true)
    expect(isSharedStore(v1)).toBe(true)
    expect(isSharedStore({ ...v2, kind: 'userevents.shared-store.v3' })).toBe(false)
    expect(toSharedStore(v2, 1_000)).toBe(v2)
    expect(toSharedStore(v1, 1_000).kind).toBe(sharedStoreV2Kind)
  })
})

/** A v1 store in memory: entries expire at the ttl fixed before the fetch. */
function v1Store(clock: TestClock) {
  const entries = new Map<string, { value: unknown; until: number }>()
  const loads: Array<{ ttlMs: number }> = []
  const sets: number[] = []
  const store = {
    kind: sharedStoreKind,
    entries,
    loads,
    sets,
    async load<T>(key: string, fetch: () => Promise<T>, options: { ttlMs: number }) {
      loads.push({ ttlMs: options.ttlMs })
      const hit = entries.get(key)
      if (hit !== undefined && clock.now() < hit.until) {
        return { value: hit.value as T, ttlMs: hit.until - clock.now(), source: 'store' as const }
      }
      const value = await fetch()
      entries.set(key, { value, until: clock.now() + options.ttlMs })
      return { value, ttlMs: options.ttlMs, source: 'fetch' as const }
    },
    async set(key: string, value: unknown, ttlMs: number) {
      sets.push(ttlMs)
      entries.set(key, { value, until: clock.now() + ttlMs })
    },
    async delete(key: string) {
      entries.delete(key)
    },
  } satisfies SharedStoreV1 & Record<string, unknown>
  return store
}

/** A v2 store in memory (no single-flight: the tests load one after another). */
function v2Store(clock: TestClock) {
  const entries = new Map<string, { value: unknown; freshUntil: number; keepUntil: number }>()
  const writes: Array<{ freshMs: number; keepMs: number | undefined }> = []
  const results: string[] = []
  const store = {
    kind: sharedStoreV2Kind,
    entries,
    writes,
    results,
    async load<T>(key: string, fetch: SharedFetch<T>): Promise<SharedLoadV2Result<T>> {
      const now = clock.now()
      const entry = entries.get(key)
      if (entry !== undefined && now < entry.freshUntil) {
        results.push('store')
        return { value: entry.value as T, freshMs: entry.freshUntil - now, source: 'store' }
      }
      const stale = entry !== undefined && now < entry.keepUntil ? entry : undefined
      const got = await fetch(stale && { value: stale.value as T })
      if ('store' in got) {
        entries.delete(key)
        results.push('local')
        return { value: got.value, freshMs: 0, source: 'local' }
      }
      writes.push({ freshMs: got.freshMs, keepMs: got.keepMs })
      entries.set(key, {
        value: got.value,
        freshUntil: now + got.freshMs,
        keepUntil: now + (got.keepMs ?? got.freshMs),
      })
      results.push('fetch')
      return { value: got.value, freshMs: got.freshMs, source: 'fetch' }
    },
    async set() {},
    async delete(key: string) {
      entries.delete(key)
    },
  } satisfies SharedStore & Record<string, unknown>
  return store
}
