import {
  type RateLimitStore,
  type RateLimitTakeOptions,
  type RateLimitTakeResult,
  rateLimitStoreKind,
} from '@userevents/upstream-client'
import type { RedisConnection, RedisScript } from './connection.js'
import { rateLimitKeyOf } from './keys.js'
import { fail, rejectUnknown } from './options.js'

/** Options of {@link createRedisRateLimitStore}. */
export interface RedisRateLimitStoreOptions {
  /** The Redis connection (from `createRedisConnection`), shared with other stores; not closed here. */
  connection: RedisConnection
  /** Keys are `userevents:v2:{<namespace>:<bucket>}:rl`; one namespace per service. Required. */
  namespace: string
}

/** A {@link RateLimitStore} on Redis; see {@link createRedisRateLimitStore}. */
export interface RedisRateLimitStore extends RateLimitStore {
  /** Whether the last take was answered by Redis (false: the replica paces on its local bucket). */
  readonly available: boolean
}

/**
 * Creates one quota for the fleet: a token bucket per rate-limit bucket (an upstream, or an
 * operation of it) in Redis, for `rateLimit.store` of `createUpstreamClient`. Each take is one
 * Lua script (atomic, on Redis' own clock, so replicas' clocks never disagree): it refills the
 * bucket at the rate the client sends, takes a token, or reserves the next one when the caller
 * can wait for it, or refuses. A 429 pauses the bucket for every replica. Every key has a TTL
 * (the time to refill the bucket plus a second): an idle bucket disappears, full.
 *
 * Redis down or slow (the connection's local circuit is open, or a command times out): `take`
 * resolves `undefined` and the client paces on its local bucket at `requestsPerSecond /
 * rateLimit.replicas`, so a fleet that sets `replicas` stays under the quota without Redis.
 *
 * @example
 * import { createUpstreamClient } from '@userevents/upstream-client'
 * import { createRedisConnection, createRedisRateLimitStore } from '@userevents/redis'
 *
 * const connection = createRedisConnection({ url: 'redis://127.0.0.1:6379' })
 * const store = createRedisRateLimitStore({ connection, namespace: 'event-service' })
 * const client = createUpstreamClient({
 *   baseUrl: 'http://event.com',
 *   rateLimit: { requestsPerSecond: 100, replicas: 3, store },
 * })
 */
export function createRedisRateLimitStore(
  options: RedisRateLimitStoreOptions,
): RedisRateLimitStore {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  rejectUnknown('', options, ['connection', 'namespace'])
  const { connection, namespace } = options
  if (
    typeof connection !== 'object' ||
    connection === null ||
    typeof connection.script !== 'function' ||
    typeof connection.define !== 'function'
  ) {
    fail('connection', 'a RedisConnection from createRedisConnection', connection)
  }
  if (typeof namespace !== 'string' || !/^[\w.-]{1,64}$/.test(namespace)) {
    fail('namespace', 'a string of 1-64 letters, digits, `_`, `.` or `-`', namespace)
  }
  // Before any command: see RedisConnection.define (ioredis auto-pipelining).
  connection.define([rateTake, ratePause])
  let available = false
  const shape = (o: RateLimitTakeOptions) => [o.ratePerSecond, o.burst]
  return {
    kind: rateLimitStoreKind,
    get available() {
      return available && connection.available
    },
    async take(bucket, o): Promise<RateLimitTakeResult | undefined> {
      try {
        const [granted, waitMs] = await connection.script<[number, string]>(
          rateTake,
          [rateLimitKeyOf(namespace, bucket)],
          [...shape(o), Math.min(o.maxWaitMs, MAX_WAIT_MS)],
        )
        available = true
        return { granted: granted === 1, waitMs: Math.max(0, Number(waitMs)) }
      } catch {
        // Down, slow or in local mode: the client's local bucket answers instead.
        available = false
        return undefined
      }
    },
    async pause(bucket, ms, o): Promise<void> {
      try {
        await connection.script(
          ratePause,
          [rateLimitKeyOf(namespace, bucket)],
          [...shape(o), Math.max(1, Math.ceil(ms))],
        )
      } catch {
        available = false
      }
    },
  }
}

/** A wait longer than this is never reserved (a day; Lua numbers stay exact far beyond it). */
const MAX_WAIT_MS = 86_400_000

/** Private: reads the bucket and brings it up to Redis' clock (shared by both scripts). */
const LOAD = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1]) / 1000
local burst = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 't', 'a', 'p')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
local paused = tonumber(s[3]) or 0
if tokens == nil or at == nil then tokens = burst; at = now end
if now > at then tokens = math.min(burst, tokens + (now - at) * rate); at = now end
`

/** Private: writes the bucket back with a TTL: until it is full again, plus a second. */
const STORE = `redis.call('HSET', KEYS[1], 't', tostring(tokens), 'a', tostring(at), 'p', tostring(paused))
local ttl = math.max(at - now, 0) + math.max(burst - tokens, 0) / rate + 1000
redis.call('PEXPIRE', KEYS[1], math.ceil(ttl))
`

/**
 * @internal One take, atomically: refill, then a token now (`{1, 0}`), a token reserved for
 * later (`{1, waitMs}`: the count goes below zero, so the next callers queue behind), or none
 * within `maxWaitMs` (`{0, waitMs}`, nothing written). KEYS: bucket. ARGV: rate per second,
 * burst, max wait ms. A paused bucket (`p`, until a reset) holds every token back.
 */
export const rateTake: RedisScript = {
  name: 'rate_take',
  keys: 1,
  lua: `${LOAD}local maxWait = tonumber(ARGV[3])
local wait = at - now
if tokens < 1 then wait = wait + (1 - tokens) / rate end
if paused - now > wait then wait = paused - now end
if wait > maxWait then return { 0, tostring(wait) } end
tokens = tokens - 1
${STORE}return { 1, tostring(wait) }`,
}

/**
 * @internal Pauses the bucket for `ms` (a 429 or a spent window): nothing is handed out before
 * then, and at the reset one token is ready, behind the reservations already made. A pause that
 * does not extend the current one changes nothing. KEYS: bucket. ARGV: rate per second, burst, ms.
 */
export const ratePause: RedisScript = {
  name: 'rate_pause',
  keys: 1,
  lua: `${LOAD}local untilMs = now + tonumber(ARGV[3])
if untilMs <= paused then return 0 end
paused = untilMs
tokens = math.min(tokens, 0) + 1
if paused > at then at = paused end
${STORE}return 1`,
}
