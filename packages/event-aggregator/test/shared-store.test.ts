import {
  type SharedFetch,
  type SharedLoadV2Result,
  type SharedStore,
  type SharedStoreV1,
  sharedStoreKind,
  sharedStoreV2Kind,
} from '@userevents/upstream-client'
import { afterEach, describe, expect, it } from 'vitest'
import { createEventAggregator } from '../src/index.js'
import { startUpstream, type Upstream, usersWithEvents } from './helpers.js'

// The aggregator's shared tier through the store contract, with hand-written in-memory stores
// (the Redis store is tested in @userevents/redis): a v2 store is told `store: false` for what
// the upstream marked no-store, and a v1 store (TTL fixed before the fetch) still works.

let upstream: Upstream | undefined
afterEach(async () => {
  await upstream?.close()
  upstream = undefined
})

describe('the aggregator on a v2 shared store', () => {
  it('shares cacheable items for the cache ttlMs and keeps no-store items out through the contract', async () => {
    upstream = await startUpstream({
      data: usersWithEvents([3]),
      cacheHeaders: { getEventById: { cacheControl: 'no-store' } },
    })
    const store = v2Store()
    const a = createEventAggregator({ client: upstream.client, store })
    await a.getEventsByUserId('u3', { limit: 3 })
    // The user is shared for the user cache's 5 s; the three no-store events are not.
    expect([...store.entries.keys()]).toEqual(['user:u3'])
    expect(store.entries.get('user:u3')).toMatchObject({ freshMs: 5_000 })
    expect(store.unshared.sort()).toEqual(['event:1', 'event:2', 'event:3'])
    // A second replica: the user from the store, the events from the upstream again.
    const b = createEventAggregator({ client: upstream.client, store })
    await b.getEventsByUserId('u3', { limit: 3 })
    expect(upstream.mock.calls('getUserById')).toBe(1)
    expect(upstream.mock.calls('getEventById')).toBe(6)
  })
})

describe('the aggregator on a v1 shared store', () => {
  it('still shares values between replicas, loaded with the cache ttlMs, and keeps no-store items out', async () => {
    upstream = await startUpstream({
      data: usersWithEvents([3]),
      cacheHeaders: { getEventById: { cacheControl: 'no-store' } },
    })
    const store = v1Store()
    const a = createEventAggregator({ client: upstream.client, store })
    const b = createEventAggregator({ client: upstream.client, store })
    await a.getEventsByUserId('u3', { limit: 3 })
    await b.getEventsByUserId('u3', { limit: 3 })
    expect(upstream.mock.calls('getUserById')).toBe(1)
    expect(upstream.mock.calls('getEventById')).toBe(6)
    expect([...store.entries.keys()]).toEqual(['user:u3'])
    expect(store.ttls.get('user:u3')).toBe(5_000)
  })
})

/** A v2 store in memory, sequential (no single-flight), recording what fetches returned. */
function v2Store() {
  const entries = new Map<string, { value: unknown; freshMs: number; keepMs?: number }>()
  const unshared: string[] = []
  const store = {
    kind: sharedStoreV2Kind,
    entries,
    unshared,
    async load<T>(key: string, fetch: SharedFetch<T>): Promise<SharedLoadV2Result<T>> {
      const hit = entries.get(key)
      if (hit !== undefined) return { value: hit.value as T, freshMs: hit.freshMs, source: 'store' }
      const got = await fetch()
      if ('store' in got) {
        unshared.push(key)
        return { value: got.value, freshMs: 0, source: 'local' }
      }
      entries.set(key, { value: got.value, freshMs: got.freshMs, keepMs: got.keepMs })
      return { value: got.value, freshMs: got.freshMs, source: 'fetch' }
    },
    async set() {},
    async delete(key: string) {
      entries.delete(key)
    },
  } satisfies SharedStore & Record<string, unknown>
  return store
}

/** A v1 store in memory: the TTL is given before the fetch. */
function v1Store() {
  const entries = new Map<string, unknown>()
  const ttls = new Map<string, number>()
  const store = {
    kind: sharedStoreKind,
    entries,
    ttls,
    async load<T>(key: string, fetch: () => Promise<T>, options: { ttlMs: number }) {
      if (entries.has(key)) {
        return { value: entries.get(key) as T, ttlMs: options.ttlMs, source: 'store' as const }
      }
      const value = await fetch()
      entries.set(key, value)
      ttls.set(key, options.ttlMs)
      return { value, ttlMs: options.ttlMs, source: 'fetch' as const }
    },
    async set() {},
    async delete(key: string) {
      entries.delete(key)
    },
  } satisfies SharedStoreV1 & Record<string, unknown>
  return store
}
