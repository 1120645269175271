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

/** Options of {@link createRedisStore}. Give `connection`, or `url`/`redis` to make one. */
export interface RedisStoreOptions extends Omit<RedisConnectionOptions, 'logger'> {
  /** A connection shared with other stores; not closed by the store's `close()`. */
  connection?: RedisConnection
  /** Keys are `userevents:v1:<namespace>:...`; one per service, so services never share values. Required. */
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
  /** The connection (shared, or made from `url`/`redis`). */
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
 * Creates the shared cache tier and fleet-wide single-flight on Redis. Pass the result as the
 * `store` option of `createUpstreamClient` (behind its GET cache) or `createEventAggregator`
 * (behind its event and user caches).
 *
 * `load(key)`: one round trip reads the value and its remaining TTL. On a miss, the caller tries
 * to take the key's lease (`SET NX PX`); the winner fetches, and one Lua script stores the value,
 * releases the lease if still its own and publishes the key. The others wait for that message on
 * the subscriber connection (re-reading every `pollMs` in case it was missed), then read the
 * value; if the holder gave up, dies (its lease expires) or `waitMs` runs out, they fetch
 * themselves. Any Redis failure, and local mode, sends the call to `fetch` directly: the same
 * path as having no store.
 *
 * @example
 * const store = createRedisStore({ url: 'redis://127.0.0.1:6379', namespace: 'event-service' })
 * const aggregator = createEventAggregator({ client, store })
 */
export function createRedisStore(options: RedisStoreOptions): RedisStore {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  rejectUnknown('', options, STORE_KEYS)
  const { namespace } = options
  if (typeof namespace !== 'string' || !/^[\w.-]{1,64}$/.test(namespace)) {
    fail('namespace', '1 to 64 letters, digits, "_", "." or "-"', namespace)
  }
  const maxValueBytes = positiveInteger(
    'maxValueBytes',
    options.maxValueBytes,
    storeDefaults.maxValueBytes,
  )
  const leaseMs = positiveInteger('leaseMs', options.leaseMs, storeDefaults.leaseMs)
  const waitMs = positive('waitMs', options.waitMs, storeDefaults.waitMs)
  const pollMs = positive('pollMs', options.pollMs, storeDefaults.pollMs)
  const clock = options.clock ?? systemClock
  let connection = options.connection
  const ownsConnection = connection === undefined
  if (connection === undefined) {
    const { url, redis, commandTimeoutMs, breaker, logger } = options
    connection = createRedisConnection({
      ...(url === undefined ? {} : { url }),
      ...(redis === undefined ? {} : { redis }),
      ...(commandTimeoutMs === undefined ? {} : { commandTimeoutMs }),
      ...(breaker === undefined ? {} : { breaker }),
      ...(logger === undefined ? {} : { logger }),
    })
  } else if (
    options.url !== undefined ||
    options.redis !== undefined ||
    options.breaker !== undefined ||
    options.commandTimeoutMs !== undefined
  ) {
    fail(
      'connection',
      'given alone (url, redis, breaker and commandTimeoutMs belong to the connection)',
      '[RedisConnection]',
    )
  }
  const conn = connection
  // Before any command: see RedisConnection.define (ioredis auto-pipelining).
  conn.define([getOrLease, fillAndRelease, releaseLease])
  const channel = channelOf(namespace)
  const stats: RedisStoreStats = { hits: 0, fetches: 0, waits: 0, local: 0, notStored: 0 }
  const waiters = new Map<string, Set<(outcome: Outcome) => void>>()
  const unsubscribe = conn.subscribe(channel, (message) => {
    const id = message.slice(1)
    const outcome: Outcome = message[0] === '1' ? 'filled' : 'gave-up'
    for (const wake of waiters.get(id) ?? []) wake(outcome)
  })

  const local = async <T>(fetch: () => Promise<T>, ttlMs: number): Promise<SharedLoadResult<T>> => {
    stats.local++
    return { value: await fetch(), ttlMs, source: 'local' }
  }

  /** A stored value as a load result; `undefined` when it is not readable JSON. */
  const decode = <T>(json: string, pttl: number): SharedLoadResult<T> | undefined => {
    let value: T
    try {
      value = JSON.parse(json) as T
    } catch {
      return undefined
    }
    stats.hits++
    return { value, ttlMs: pttl > 0 ? pttl : 1, bytes: Buffer.byteLength(json), source: 'store' }
  }

  /** Registers a waiter for `id` before the lease attempt, so no announcement can be missed. */
  const expect = (id: string) => {
    let wake!: (outcome: Outcome) => void
    const announced = new Promise<Outcome>((resolve) => {
      wake = resolve
    })
    let set = waiters.get(id)
    if (set === undefined) {
      set = new Set()
      waiters.set(id, set)
    }
    set.add(wake)
    const done = () => {
      set.delete(wake)
      if (set.size === 0 && waiters.get(id) === set) waiters.delete(id)
    }
    const wait = (ms: number) =>
      new Promise<Outcome>((resolve) => {
        const timer = clock.setTimeout(() => resolve('timeout'), ms)
        announced.then((outcome) => {
          clock.clearTimeout(timer)
          resolve(outcome)
        })
      })
    return { wait, done }
  }

  const holderFetch = async <T>(
    keys: ReturnType<typeof keysOf>,
    token: string,
    fetch: () => Promise<T>,
    ttlMs: number,
  ): Promise<SharedLoadResult<T>> => {
    let value: T
    try {
      value = await fetch()
    } catch (error) {
      // Let the waiters fetch by themselves at once instead of waiting out the lease.
      await conn.script(releaseLease, [keys.lease], [token, channel, `0${keys.id}`]).catch(noop)
      throw error
    }
    const json = encode(value, maxValueBytes)
    if (json === undefined) {
      stats.notStored++
      await conn.script(releaseLease, [keys.lease], [token, channel, `0${keys.id}`]).catch(noop)
      return { value, ttlMs, source: 'local' }
    }
    stats.fetches++
    try {
      await conn.script(
        fillAndRelease,
        [keys.value, keys.lease],
        [json, Math.ceil(ttlMs), token, channel, `1${keys.id}`],
      )
    } catch {
      // Redis failed after the fetch: the value is still this caller's answer.
    }
    return { value, ttlMs, source: 'fetch' }
  }

  let closing: Promise<void> | undefined
  const store: RedisStore = {
    kind: sharedStoreKind,
    connection: conn,
    get mode() {
      return conn.mode
    },
    get stats() {
      return { ...stats }
    },
    async load<T>(key: string, fetch: () => Promise<T>, opts: SharedLoadOptions) {
      // A caller's mistake never reaches Redis: an invalid TTL failed the fill script after the
      // fetch, leaving the lease held (the other replicas waited it out) and counting a failure.
      const ttlMs = requiredPositive('ttlMs', opts?.ttlMs)
      const waitLimit = positive('waitMs', opts.waitMs, waitMs)
      if (!conn.available) return local(fetch, ttlMs)
      const keys = keysOf(namespace, key)
      const deadline = clock.now() + Math.min(waitLimit, waitMs)
      let waited = false
      for (;;) {
        // Registered before asking Redis, so an announcement sent in between is not missed.
        const waiter = expect(keys.id)
        try {
          const token = randomUUID()
          const reply = await conn.script<[0] | [2] | [1, string, number]>(
            getOrLease,
            [keys.value, keys.lease],
            [token, leaseMs],
          )
          if (reply[0] === 1) {
            const hit = decode<T>(reply[1], reply[2])
            if (hit !== undefined) return hit
            // An unreadable value (another format, a bug): overwrite it by fetching once.
            waiter.done()
            return holderFetch(keys, '', fetch, ttlMs)
          }
          if (reply[0] === 2) {
            waiter.done()
            return holderFetch(keys, token, fetch, ttlMs)
          }
          if (!waited) stats.waits++
          waited = true
          const left = deadline - clock.now()
          if (left <= 0) return local(fetch, ttlMs)
          // Woken by the holder's announcement, or after `pollMs` to look again (a missed
          // message, or a holder that died: its lease expires and the next round takes it).
          if ((await waiter.wait(Math.min(left, pollMs))) === 'gave-up') return local(fetch, ttlMs)
        } catch {
          return local(fetch, ttlMs)
        } finally {
          waiter.done()
        }
      }
    },
    async set(key, value, ttlMs) {
      requiredPositive('ttlMs', ttlMs)
      if (!conn.available) return
      const json = encode(value, maxValueBytes)
      if (json === undefined) {
        stats.notStored++
        return
      }
      const k = keysOf(namespace, key).value
      await conn.run((r) => r.set(k, json, 'PX', Math.max(1, Math.ceil(ttlMs)))).catch(noop)
    },
    async delete(key) {
      if (!conn.available) return
      const k = keysOf(namespace, key).value
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
  return store
}

// Private helpers below.

/** What a waiter learns: the value is there, the holder gave up, or its poll interval passed. */
type Outcome = 'filled' | 'gave-up' | 'timeout'

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
