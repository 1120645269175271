import { randomUUID } from 'node:crypto'
import type {
  Clock,
  SharedFetch,
  SharedLoadV2Options,
  SharedLoadV2Result,
  SharedStaleEntry,
} from '@userevents/upstream-client'
import type { RedisConnection } from './connection.js'
import type { keysOf } from './keys.js'
import { positive } from './options.js'
import { fillAndRelease, getOrLease, releaseLease } from './scripts.js'
import { decode, encode, lifetimeOf } from './store-entry.js'
import type { Waiters } from './waiters.js'

/** Counters of a `RedisStore`, for metrics. */
export interface RedisStoreStats {
  /** Loads answered from Redis (a fresh entry). */
  hits: number
  /** Loads this replica fetched for the fleet (it held the lease), revalidations included. */
  fetches: number
  /** Of `fetches`, those that were handed a stale entry to revalidate (a conditional request). */
  revalidations: number
  /** Loads that waited for another replica's fetch. */
  waits: number
  /** Loads run locally: Redis degraded, a wait ran out, the holder gave up, or the value too large. */
  local: number
  /** Values not stored: larger than `maxValueBytes`, not JSON, or `store: false` from the fetch. */
  notStored: number
}

/** @internal The validated settings of a store. */
export interface StoreSettings {
  namespace: string
  maxValueBytes: number
  leaseMs: number
  waitMs: number
  pollMs: number
  clock: Clock
}

/** @internal What the load path of one store needs. */
export interface StoreContext extends StoreSettings {
  conn: RedisConnection
  channel: string
  stats: RedisStoreStats
  waiters: Waiters
}

/**
 * @internal One load through the shared tier (see `createRedisStore`): a fresh entry answers; a
 * cold key, or a stale one, goes to whoever takes the lease (with the stale entry, to
 * revalidate), and the others wait for its announcement as they do for a cold key.
 */
export async function loadShared<T>(
  ctx: StoreContext,
  fetch: SharedFetch<T>,
  keys: ReturnType<typeof keysOf>,
  opts: SharedLoadV2Options | undefined,
): Promise<SharedLoadV2Result<T>> {
  // A caller's mistake never reaches Redis (validated before the lease is taken).
  const waitLimit = positive('waitMs', opts?.waitMs, ctx.waitMs)
  if (!ctx.conn.available) return local(ctx, fetch)
  const deadline = ctx.clock.now() + Math.min(waitLimit, ctx.waitMs)
  let waited = false
  for (;;) {
    // Registered before asking Redis, so an announcement sent in between is not missed.
    const waiter = ctx.waiters.expect(keys.id)
    try {
      const token = randomUUID()
      const reply = await ctx.conn.script<[0] | [2] | [1, string, number] | [3, string]>(
        getOrLease,
        [keys.value, keys.lease],
        [token, ctx.leaseMs],
      )
      if (reply[0] === 1) {
        const hit = decode<T>(reply[1])
        if (hit !== undefined) {
          ctx.stats.hits++
          return { ...hit, freshMs: Math.max(1, reply[2]), source: 'store' }
        }
        // An unreadable value (a bug, a hand-written key): overwrite it by fetching once.
        waiter.done()
        return holderFetch(ctx, keys, '', fetch, undefined)
      }
      if (reply[0] === 2 || reply[0] === 3) {
        waiter.done()
        const stale = reply[0] === 3 ? decode<T>(reply[1]) : undefined
        return holderFetch(ctx, keys, token, fetch, stale)
      }
      if (!waited) ctx.stats.waits++
      waited = true
      const left = deadline - ctx.clock.now()
      if (left <= 0) return local(ctx, fetch)
      // Woken by the holder's announcement, or after `pollMs` to look again (a missed
      // message, or a holder that died: its lease expires and the next round takes it).
      const outcome = await waiter.wait(Math.min(left, ctx.pollMs))
      if (outcome === 'gave-up') return local(ctx, fetch)
    } catch {
      return local(ctx, fetch)
    } finally {
      waiter.done()
    }
  }
}

// Private helpers below.

/**
 * Private: the lease holder fetches (revalidating `stale` when there is one), then stores,
 * releases and announces in one script; or, when there is nothing to store, releases, drops a
 * stale entry and announces that it gave up, so the waiters fetch by themselves.
 */
async function holderFetch<T>(
  ctx: StoreContext,
  keys: ReturnType<typeof keysOf>,
  token: string,
  fetch: SharedFetch<T>,
  stale: SharedStaleEntry<T> | undefined,
): Promise<SharedLoadV2Result<T>> {
  const giveUp = (drop: boolean) =>
    ctx.conn
      .script(
        releaseLease,
        [keys.lease, keys.value],
        [token, ctx.channel, `0${keys.id}`, drop ? '1' : '0'],
      )
      .catch(noop)
  let got: Awaited<ReturnType<SharedFetch<T>>>
  let lifetime: ReturnType<typeof lifetimeOf>
  try {
    got = await (stale === undefined ? fetch() : fetch(stale))
    lifetime = lifetimeOf(got)
  } catch (error) {
    // Let the waiters fetch by themselves at once instead of waiting out the lease; a stale
    // entry stays for the next attempt.
    await giveUp(false)
    throw error
  }
  const json = lifetime === undefined ? undefined : encode(got.value, ctx.maxValueBytes)
  if (lifetime === undefined || json === undefined) {
    ctx.stats.notStored++
    await giveUp(true)
    return { value: got.value, freshMs: lifetime?.freshMs ?? 0, source: 'local' }
  }
  ctx.stats.fetches++
  if (stale !== undefined) ctx.stats.revalidations++
  try {
    await ctx.conn.script(
      fillAndRelease,
      [keys.value, keys.lease],
      [json, lifetime.freshMs, lifetime.keepMs, token, ctx.channel, `1${keys.id}`],
    )
  } catch {
    // Redis failed after the fetch: the value is still this caller's answer.
  }
  return { value: got.value, freshMs: lifetime.freshMs, source: 'fetch' }
}

/** Private: the path without a store (local mode, a failed or exhausted wait). */
async function local<T>(ctx: StoreContext, fetch: SharedFetch<T>): Promise<SharedLoadV2Result<T>> {
  ctx.stats.local++
  const got = await fetch()
  return { value: got.value, freshMs: lifetimeOf(got)?.freshMs ?? 0, source: 'local' }
}

function noop() {}
