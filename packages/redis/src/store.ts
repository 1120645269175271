import { randomUUID } from 'node:crypto'
import {
  type Clock,
  type Logger,
  type SharedLoadOptions,
  type SharedLoadResult,
  type SharedStore,
  sharedStoreKind,
  systemClock,
} from '@userevents/upstream-client'
import {
  createRedisConnection,
  type RedisConnection,
  type RedisConnectionOptions,
} from './connection.js'
import type { FleetMode } from './guard.js'
import { channelOf, keysOf } from './keys.js'
import { fail, positive, positiveInteger, rejectUnknown } from './options.js'
import { fillAndRelease, getOrLease, releaseLease } from './scripts.js'

/** Options of {@link createRedisStore}. Give `connection`, or `url`/`cluster`/`redis` to make one. */
export interface RedisStoreOptions extends Omit<RedisConnectionOptions, 'logger'> {
  /** A connection shared with other stores; not closed by the store's `close()`. */
  connection?: RedisConnection
  /** Keys are `userevents:v2:{<namespace>:<key>}:...`; one per service, so services never share values. Required. */
  namespace: string
  /** Largest value stored, in bytes of its JSON; larger ones are served but not shared. Default 1 MiB. */
  maxValueBytes?: number
  /** Lifetime of a single-flight lease, in ms: how long a crashed holder blocks the others at worst. Default 3 000. */
  leaseMs?: number
  /** The longest a caller waits for another replica's fetch before fetching itself, in ms. Default 3 000. */
  waitMs?: number
  /** While waiting, the shared tier is re-read this often in case a notification was missed, in ms. Default 100. */
  pollMs?: number
  /** Time source of waits and polls. Default: the global timers. */
  clock?: Clock
  /** pino-compatible logger (connections made here log their fleet/local switches). */
  logger?: Logger
}

/** Counters of a {@link RedisStore}, for metrics. */
export interface RedisStoreStats {
  /** Loads answered from Redis. */
  hits: number
  /** Loads this replica fetched for the fleet (it held the lease). */
  fetches: number
  /** Loads that waited for another replica's fetch. */
  waits: number
  /** Loads run locally: Redis degraded, a wait ran out, the holder gave up, or the value too large. */
  local: number
  /** Values not stored because they exceeded `maxValueBytes` or were not JSON. */
  notStored: number
}

/** A {@link SharedStore} on Redis; see {@link createRedisStore}. */
export interface RedisStore extends SharedStore {
  /** The connection (shared, or made from `url`/`cluster`/`redis`). */
  readonly connection: RedisConnection
  /** `fleet` or `local` (degraded: every load runs as without a store). */
  readonly mode: FleetMode
  /** Counters since creation. */
  readonly stats: Readonly<RedisStoreStats>
  /** Stops listening; closes the connection only if the store made it. Idempotent. */
  close(): Promise<void>
}

/** Default settings of {@link createRedisStore}. */
export const storeDefaults = {
  maxValueBytes: 1024 * 1024,
  leaseMs: 3_000,
  waitMs: 3_000,
  pollMs: 100,
} as const

const STORE_KEYS = [
  'url',
  'cluster',
  'redis',
  'commandTimeoutMs',
  'breaker',
  'connection',
  'namespace',
  'maxValueBytes',
  'leaseMs',
  'waitMs',
  'pollMs',
  'clock',
  'logger',
]

/**
 * Creates the shared cache tier and fleet-wide single-flight on Redis (one server or a Redis
 * Cluster). Pass the result as the `store` option of `createUpstreamClient` (behind its GET
 * cache) or `createEventAggregator` (behind its event and user caches).
 *
 * `load(key)`: one round trip reads the value and its remaining TTL. On a miss, the caller tries
 * to take the key's lease (`SET NX PX`); the winner fetches, and one Lua script stores the value,
 * releases the lease if still its own and publishes the key. The others wait for that message on
 * the subscriber connection (re-reading every `pollMs` in case it was missed), then read the
 * value; if the holder gave up, dies (its lease expires) or `waitMs` runs out, they fetch
 * themselves. Any Redis failure, and local mode, sends the call to `fetch` directly: the same
 * path as having no store. A key's value and lease share the hash tag `{<namespace>:<key>}`, so
 * both scripts run on one cluster slot.
 *
 * @example
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', namespace: 'event-service' })
 * const aggregator = createEventAggregator({ client, store })
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const settings = resolveStoreSettings(options)
  const { conn, ownsConnection } = storeConnection(options)
  // Before any command: see RedisConnection.define (ioredis auto-pipelining).
  conn.define([getOrLease, fillAndRelease, releaseLease])
  const ctx: StoreContext = {
    ...settings,
    conn,
    channel: channelOf(settings.namespace),
    stats: { hits: 0, fetches: 0, waits: 0, local: 0, notStored: 0 },
    waiters: new Waiters(settings.clock),
  }
  const unsubscribe = conn.subscribe(ctx.channel, (message) => {
    ctx.waiters.wake(message.slice(1), message[0] === '1' ? 'filled' : 'gave-up')
  })

  let closing: Promise<void> | undefined
  return {
    kind: sharedStoreKind,
    connection: conn,
    get mode() {
      return conn.mode
    },
    get stats() {
      return { ...ctx.stats }
    },
    load: (key, fetch, opts) => loadShared(ctx, key, fetch, opts),
    async set(key, value, ttlMs) {
      requiredPositive('ttlMs', ttlMs)
      if (!conn.available) return
      const json = encode(value, ctx.maxValueBytes)
      if (json === undefined) {
        ctx.stats.notStored++
        return
      }
      const k = keysOf(ctx.namespace, key).value
      await conn.run((r) => r.set(k, json, 'PX', Math.max(1, Math.ceil(ttlMs)))).catch(noop)
    },
    async delete(key) {
      if (!conn.available) return
      const k = keysOf(ctx.namespace, key).value
      await conn.run((r) => r.del(k)).catch(noop)
    },
    close() {
      closing ??= (async () => {
        unsubscribe()
        if (ownsConnection) await conn.close()
      })()
      return closing
    },
  }
}

// Private helpers below.

/** What a waiter learns: the value is there, the holder gave up, or its poll interval passed. */
type Outcome = 'filled' | 'gave-up' | 'timeout'

/** Private: the validated settings of a store. */
interface StoreSettings {
  namespace: string
  maxValueBytes: number
  leaseMs: number
  waitMs: number
  pollMs: number
  clock: Clock
}

/** Private: what the load path of one store needs. */
interface StoreContext extends StoreSettings {
  conn: RedisConnection
  channel: string
  stats: RedisStoreStats
  waiters: Waiters
}

/** Private: validates the store's own options (before any connection is made). */
function resolveStoreSettings(options: RedisStoreOptions): StoreSettings {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  rejectUnknown('', options, STORE_KEYS)
  const { namespace } = options
  if (typeof namespace !== 'string' || !/^[\w.-]{1,64}$/.test(namespace)) {
    fail('namespace', '1 to 64 letters, digits, "_", "." or "-"', namespace)
  }
  return {
    namespace,
    maxValueBytes: positiveInteger(
      'maxValueBytes',
      options.maxValueBytes,
      storeDefaults.maxValueBytes,
    ),
    leaseMs: positiveInteger('leaseMs', options.leaseMs, storeDefaults.leaseMs),
    waitMs: positive('waitMs', options.waitMs, storeDefaults.waitMs),
    pollMs: positive('pollMs', options.pollMs, storeDefaults.pollMs),
    clock: options.clock ?? systemClock,
  }
}

/** Private: the connection given, or one made from `url`/`cluster`/`redis` (then owned). */
function storeConnection(options: RedisStoreOptions): {
  conn: RedisConnection
  ownsConnection: boolean
} {
  const { connection, url, cluster, redis, commandTimeoutMs, breaker, logger } = options
  if (connection !== undefined) {
    const own = [url, cluster, redis, breaker, commandTimeoutMs]
    if (own.some((v) => v !== undefined)) {
      fail(
        'connection',
        'given alone (url, cluster, redis, breaker and commandTimeoutMs belong to the connection)',
        '[RedisConnection]',
      )
    }
    return { conn: connection, ownsConnection: false }
  }
  const made = createRedisConnection({
    ...(url === undefined ? {} : { url }),
    ...(cluster === undefined ? {} : { cluster }),
    ...(redis === undefined ? {} : { redis }),
    ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }),
    ...(breaker === undefined ? {} : { breaker }),
    ...(logger === undefined ? {} : { logger }),
  })
  return { conn: made, ownsConnection: true }
}

/** Private: one load through the shared tier; see {@link createRedisStore}. */
async function loadShared<T>(
  ctx: StoreContext,
  key: string,
  fetch: () => Promise<T>,
  opts: SharedLoadOptions,
): Promise<SharedLoadResult<T>> {
  // A caller's mistake never reaches Redis: an invalid TTL failed the fill script after the
  // fetch, leaving the lease held (the other replicas waited it out) and counting a failure.
  const ttlMs = requiredPositive('ttlMs', opts?.ttlMs)
  const waitLimit = positive('waitMs', opts.waitMs, ctx.waitMs)
  if (!ctx.conn.available) return local(ctx, fetch, ttlMs)
  const keys = keysOf(ctx.namespace, key)
  const deadline = ctx.clock.now() + Math.min(waitLimit, ctx.waitMs)
  let waited = false
  for (;;) {
    // Registered before asking Redis, so an announcement sent in between is not missed.
    const waiter = ctx.waiters.expect(keys.id)
    try {
      const token = randomUUID()
      const reply = await ctx.conn.script<[0] | [2] | [1, string, number]>(
        getOrLease,
        [keys.value, keys.lease],
        [token, ctx.leaseMs],
      )
      if (reply[0] === 1) {
        const hit = decode<T>(ctx.stats, reply[1], reply[2])
        if (hit !== undefined) return hit
        // An unreadable value (another format, a bug): overwrite it by fetching once.
        waiter.done()
        return holderFetch(ctx, keys, '', fetch, ttlMs)
      }
      if (reply[0] === 2) {
        waiter.done()
        return holderFetch(ctx, keys, token, fetch, ttlMs)
      }
      if (!waited) ctx.stats.waits++
      waited = true
      const left = deadline - ctx.clock.now()
      if (left <= 0) return local(ctx, fetch, ttlMs)
      // Woken by the holder's announcement, or after `pollMs` to look again (a missed
      // message, or a holder that died: its lease expires and the next round takes it).
      const outcome = await waiter.wait(Math.min(left, ctx.pollMs))
      if (outcome === 'gave-up') return local(ctx, fetch, ttlMs)
    } catch {
      return local(ctx, fetch, ttlMs)
    } finally {
      waiter.done()
    }
  }
}

/** Private: the lease holder fetches, then stores, releases and announces in one script. */
async function holderFetch<T>(
  ctx: StoreContext,
  keys: ReturnType<typeof keysOf>,
  token: string,
  fetch: () => Promise<T>,
  ttlMs: number,
): Promise<SharedLoadResult<T>> {
  const giveUp = () =>
    ctx.conn.script(releaseLease, [keys.lease], [token, ctx.channel, `0${keys.id}`]).catch(noop)
  let value: T
  try {
    value = await fetch()
  } catch (error) {
    // Let the waiters fetch by themselves at once instead of waiting out the lease.
    await giveUp()
    throw error
  }
  const json = encode(value, ctx.maxValueBytes)
  if (json === undefined) {
    ctx.stats.notStored++
    await giveUp()
    return { value, ttlMs, source: 'local' }
  }
  ctx.stats.fetches++
  try {
    await ctx.conn.script(
      fillAndRelease,
      [keys.value, keys.lease],
      [json, Math.ceil(ttlMs), token, ctx.channel, `1${keys.id}`],
    )
  } catch {
    // Redis failed after the fetch: the value is still this caller's answer.
  }
  return { value, ttlMs, source: 'fetch' }
}

/** Private: the path without a store (local mode, a failed or exhausted wait). */
async function local<T>(
  ctx: StoreContext,
  fetch: () => Promise<T>,
  ttlMs: number,
): Promise<SharedLoadResult<T>> {
  ctx.stats.local++
  return { value: await fetch(), ttlMs, source: 'local' }
}

/** Private: a stored value as a load result; `undefined` when it is not readable JSON. */
function decode<T>(stats: RedisStoreStats, json: string, pttl: number) {
  let value: T
  try {
    value = JSON.parse(json) as T
  } catch {
    return undefined
  }
  stats.hits++
  const result: SharedLoadResult<T> = {
    value,
    ttlMs: pttl > 0 ? pttl : 1,
    bytes: Buffer.byteLength(json),
    source: 'store',
  }
  return result
}

/**
 * Private: the loads of this replica waiting for another replica's fetch, by key id. A waiter
 * is registered before the lease attempt, so no announcement can be missed.
 */
class Waiters {
  readonly #byId = new Map<string, Set<(outcome: Outcome) => void>>()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Wakes every waiter of `id` with the announced outcome. */
  wake(id: string, outcome: Outcome): void {
    for (const wake of this.#byId.get(id) ?? []) wake(outcome)
  }

  /** Registers a waiter of `id`: `wait(ms)` until announced or `ms` passed; `done()` when leaving. */
  expect(id: string) {
    let wake!: (outcome: Outcome) => void
    const announced = new Promise<Outcome>((resolve) => {
      wake = resolve
    })
    let set = this.#byId.get(id)
    if (set === undefined) {
      set = new Set()
      this.#byId.set(id, set)
    }
    const own = set
    own.add(wake)
    const done = () => {
      own.delete(wake)
      if (own.size === 0 && this.#byId.get(id) === own) this.#byId.delete(id)
    }
    const wait = (ms: number) =>
      new Promise<Outcome>((resolve) => {
        const timer = this.#clock.setTimeout(() => resolve('timeout'), ms)
        announced.then((outcome) => {
          this.#clock.clearTimeout(timer)
          resolve(outcome)
        })
      })
    return { wait, done }
  }
}

/** A positive finite number; `undefined` is rejected too. */
function requiredPositive(option: string, value: unknown): number {
  if (value === undefined) fail(option, 'a positive number', value)
  return positive(option, value, 0)
}

/** JSON of `value`, or `undefined` when it is not JSON or larger than `max` bytes. */
function encode(value: unknown, max: number): string | undefined {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    return undefined
  }
  if (json === undefined) return undefined
  // Cheap bound first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (json.length > max) return undefined
  if (json.length * 3 > max && Buffer.byteLength(json) > max) return undefined
  return json
}

function noop() {}
