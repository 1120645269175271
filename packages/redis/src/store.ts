import {
  type Clock,
  type Logger,
  type SharedStore,
  sharedStoreV2Kind,
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
import { fillAndRelease, getOrLease, putEntry, releaseLease } from './scripts.js'
import { encode, lifetimeOf } from './store-entry.js'
import {
  loadShared,
  type RedisStoreStats,
  type StoreContext,
  type StoreSettings,
} from './store-load.js'
import { Waiters } from './waiters.js'

export type { RedisStoreStats } from './store-load.js'

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
 * Implements the v2 `SharedStore` contract (`userevents.shared-store.v2`). `load(key, fetch)`:
 * one round trip reads the entry and, inside a Lua script, compares its fresh-until with the
 * Redis server's own `TIME` (freshness never depends on a replica's clock): a fresh entry is a
 * hit. Otherwise the caller tries to take the key's lease (`SET NX PX`); the winner fetches
 * (handed the stale entry when one is kept, to revalidate it with a conditional request), and
 * one script stores the value fresh for the `freshMs` the fetch returned and kept `keepMs` (the
 * key's `PX`), releases the lease if still its own and publishes the key. The others wait for
 * that message on the subscriber connection (re-reading every `pollMs` in case it was missed),
 * then read the value; if the holder gave up (its fetch failed, or returned `store: false`,
 * which also drops a stale entry), dies (its lease expires) or `waitMs` runs out, they fetch
 * themselves. Waiters never take a stale value. Any Redis failure, and local mode, sends the
 * call to `fetch` directly: the same path as having no store. A key's value and lease share the
 * hash tag `{<namespace>:<key>}`, so the scripts run on one cluster slot.
 *
 * @example
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', namespace: 'event-service' })
 * const aggregator = createEventAggregator({ client, store })
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  const settings = resolveStoreSettings(options)
  const { conn, ownsConnection } = storeConnection(options)
  // Before any command: see RedisConnection.define (ioredis auto-pipelining).
  conn.define([getOrLease, fillAndRelease, putEntry, releaseLease])
  const ctx: StoreContext = {
    ...settings,
    conn,
    channel: channelOf(settings.namespace),
    stats: { hits: 0, fetches: 0, revalidations: 0, waits: 0, local: 0, notStored: 0 },
    waiters: new Waiters(settings.clock),
  }
  const unsubscribe = conn.subscribe(ctx.channel, (message) => {
    ctx.waiters.wake(message.slice(1), message[0] === '1' ? 'filled' : 'gave-up')
  })

  let closing: Promise<void> | undefined
  return {
    kind: sharedStoreV2Kind,
    connection: conn,
    get mode() {
      return conn.mode
    },
    get stats() {
      return { ...ctx.stats }
    },
    load: (key, fetch, opts) => loadShared(ctx, fetch, keysOf(ctx.namespace, key), opts),
    async set(key, value, options) {
      // Validated before any command, like every caller's mistake.
      const lifetime = lifetimeOf(options)
      if (!conn.available) return
      const k = keysOf(ctx.namespace, key).value
      const json = lifetime === undefined ? undefined : encode(value, ctx.maxValueBytes)
      if (lifetime === undefined || json === undefined) {
        if (lifetime !== undefined) ctx.stats.notStored++
        await conn.run((r) => r.del(k)).catch(noop)
        return
      }
      await conn.script(putEntry, [k], [json, lifetime.freshMs, lifetime.keepMs]).then(noop, noop)
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

function noop() {}
