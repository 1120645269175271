import type { Logger } from '@userevents/upstream-client'
import { Redis, type RedisOptions } from 'ioredis'
import {
  type FleetMode,
  type FleetModeChange,
  type RedisBreakerOptions,
  RedisGuard,
  resolveBreaker,
} from './guard.js'
import { fail, nonNegative, positive, rejectUnknown } from './options.js'

/** Options of {@link createRedisConnection}. Give `url` or `redis`. */
export interface RedisConnectionOptions {
  /** `redis://[:password@]host:port[/db]`. The connections made from it are closed by `close()`. */
  url?: string
  /**
   * An ioredis client of your own, used for commands and never closed by `close()` (its options,
   * e.g. `commandTimeout` and `enableOfflineQueue`, are yours to set). The subscriber connection
   * is a `duplicate()` of it, owned by this connection.
   */
  redis?: Redis
  /** Timeout of each Redis command, in ms (connections made from `url`). Default 50. */
  commandTimeoutMs?: number
  /** The local circuit around Redis that switches to local mode. */
  breaker?: RedisBreakerOptions
  /** pino-compatible logger: one line per switch between fleet and local mode. */
  logger?: Logger
}

/** Options of {@link RedisConnection.ready}. */
export interface RedisReadyOptions {
  /** The longest to wait for Redis, in ms (a non-negative number). Default 1 000. */
  timeoutMs?: number
}

/**
 * A Lua script run by name: loaded once per connection (ioredis `defineCommand`, EVALSHA with a
 * fallback to EVAL after a `SCRIPT FLUSH` or a Redis restart).
 */
export interface RedisScript {
  /** Unique name; prefixed `userevents_` on the connection so it cannot clash with yours. */
  name: string
  /** How many of the arguments are keys. */
  keys: number
  /** The script. */
  lua: string
}

/**
 * The Redis side of fleet mode: a command connection, a subscriber connection for pub/sub, and
 * the local circuit around both. Stores (the shared cache of `createRedisStore`, and later ones)
 * share one connection; its {@link RedisConnection.mode} tells whether the replica is in fleet
 * or local mode, for metrics and readiness (local is degraded, not down).
 */
export interface RedisConnection {
  /**
   * `fleet` while Redis answers; `local` until the command connection has connected for the
   * first time, while it is disconnected or the circuit around it is open, and after `close()`.
   */
  readonly mode: FleetMode
  /**
   * False while the command connection is not connected or the circuit around Redis is open:
   * callers go straight to their local path without sending anything.
   */
  readonly available: boolean
  /**
   * Waits, at most `timeoutMs` (default 1 000), for the command connection's first `ready`, and
   * resolves to the mode then: `fleet`, or `local` when Redis did not answer in time (or the
   * connection was closed). Never rejects because of Redis and never hangs (bad options reject
   * with `InvalidOptionError`): await it at start-up so the first loads use the shared tier when
   * Redis is there, and serve anyway when it is not.
   *
   * @example
   * const mode = await redis.ready({ timeoutMs: 2_000 }) // 'fleet', or 'local' if Redis is away
   */
  ready(options?: RedisReadyOptions): Promise<FleetMode>
  /** Runs one command through the circuit. Rejects at once in local mode. */
  run<T>(op: (redis: Redis) => Promise<T>): Promise<T>
  /**
   * Defines scripts on the connection before their first use. A store calls it when it is
   * created: with ioredis' auto-pipelining, a command defined while a pipeline is already being
   * filled is missing from that pipeline, which then fails with an uncaught exception
   * (redis/ioredis#1931). Defining a script again does nothing.
   */
  define(scripts: readonly RedisScript[]): void
  /** Runs a Lua script (loaded once) through the circuit; defined here if it was not yet. */
  script<T>(
    script: RedisScript,
    keys: readonly string[],
    args: ReadonlyArray<string | number>,
  ): Promise<T>
  /**
   * Listens to `channel` on the subscriber connection (subscribed once per channel, and again
   * after a reconnect). Returns the unsubscribe function.
   */
  subscribe(channel: string, listener: (message: string) => void): () => void
  /** Subscribes to fleet/local switches; returns the unsubscribe function. */
  onModeChange(listener: (change: FleetModeChange) => void): () => void
  /** Closes what this connection opened (not an ioredis client passed as `redis`). Idempotent. */
  close(): Promise<void>
}

/** Default settings of {@link createRedisConnection}. */
export const connectionDefaults = { commandTimeoutMs: 50, readyTimeoutMs: 1_000 } as const

/**
 * Connects to Redis for fleet mode. Never throws because Redis is down: it starts in local mode
 * and switches to fleet mode once the command connection is ready (await
 * {@link RedisConnection.ready} for that at start-up), and back to local mode when Redis fails;
 * the connections keep reconnecting in the background and the circuit's probe brings the replica
 * back.
 *
 * @example
 * const redis = createRedisConnection({ url: process.env.REDIS_URL, logger })
 * await redis.ready({ timeoutMs: 2_000 }) // 'fleet', or 'local' if Redis is away: serve anyway
 * const store = createRedisStore({ connection: redis, namespace: 'event-service' })
 * app.get('/readyz', () => ({ redis: redis.mode === 'fleet' ? 'ok' : 'degraded' }))
 */
export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  rejectUnknown('', options, ['url', 'redis', 'commandTimeoutMs', 'breaker', 'logger'])
  const { url, redis } = options
  if ((url === undefined) === (redis === undefined)) {
    fail('url', 'a redis:// URL, or `redis` an ioredis client (exactly one of them)', url)
  }
  if (url !== undefined && (typeof url !== 'string' || !/^rediss?:\/\//.test(url))) {
    fail('url', 'a redis:// or rediss:// URL', url)
  }
  if (redis !== undefined && !(redis instanceof Redis)) fail('redis', 'an ioredis client', redis)
  const commandTimeout = positive(
    'commandTimeoutMs',
    options.commandTimeoutMs,
    connectionDefaults.commandTimeoutMs,
  )
  const breakerOptions = resolveBreaker(options.breaker)
  const logger = options.logger?.child({ component: 'redis' })

  const owned = redis === undefined
  const command =
    redis ??
    new Redis(url as string, {
      commandTimeout,
      // Fail fast while disconnected instead of queueing without bound: the circuit counts the
      // failure and the caller takes its local path at once.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectTimeout: 1_000,
      // Keep reconnecting forever, backing off to 1 s: Redis coming back is how fleet mode resumes.
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
      enableAutoPipelining: true,
      lazyConnect: false,
    } satisfies RedisOptions)
  // The subscriber may queue its few SUBSCRIBE commands until it is connected; ioredis re-sends
  // them after every reconnect (autoResubscribe). It has no command timeout: ioredis does not
  // handle the promise of that re-subscription, so a timeout there would surface as an unhandled
  // rejection, and nothing waits on this connection anyway (waiters also poll).
  // `maxRetriesPerRequest: null`: the command connection's 0 would reject a queued SUBSCRIBE on the
  // first failed connection attempt, and ioredis re-subscribes after a reconnect only to channels
  // whose SUBSCRIBE had succeeded: the channel would be lost for good (seen under load, where the
  // subscriber's first attempts can fail). Every 'ready' also subscribes to every channel again.
  const subscriber = command.duplicate({
    enableOfflineQueue: true,
    maxRetriesPerRequest: null,
    lazyConnect: false,
    commandTimeout: undefined,
  })
  // An 'error' event without a listener would crash the process; Redis being away is expected.
  const onError = (error: Error) => logger?.debug({ err: error.message }, 'redis connection error')
  command.on('error', onError)
  subscriber.on('error', onError)

  const guard = new RedisGuard(breakerOptions, () => command.ping())
  // Fleet mode needs both: a connected command connection (while it reconnects, nothing is
  // sent, so nothing waits on a dead socket) and a closed circuit (slow or failing commands).
  let connected = command.status === 'ready'
  let mode: FleetMode = connected ? 'fleet' : 'local'
  const modeListeners = new Set<(change: FleetModeChange) => void>()
  // Set by close(): the connections it ends are not an outage, so no switch is logged or emitted.
  let closed = false
  const update = (cause?: unknown) => {
    if (closed) return
    const next: FleetMode = connected && guard.mode === 'fleet' ? 'fleet' : 'local'
    if (next === mode) return
    const change: FleetModeChange =
      next === 'local' ? { mode: next, previous: mode, cause } : { mode: next, previous: mode }
    mode = next
    // One line per switch, never one per failed command.
    if (next === 'local') {
      logger?.warn(
        { mode: next, cause: (cause as Error | undefined)?.message },
        'Redis unavailable: fleet mode off, serving from local caches',
      )
    } else {
      logger?.info({ mode: next }, 'Redis available: fleet mode on')
    }
    for (const listener of modeListeners) listener(change)
  }
  // Settled by the first 'ready' or by close(); ready() races it against its own timeout.
  let settleReady: () => void = noop
  const firstReady = new Promise<void>((resolve) => {
    settleReady = resolve
    if (connected) resolve()
    command.once('ready', () => resolve())
  })
  command.on('ready', () => {
    connected = true
    update()
  })
  command.on('close', () => {
    connected = false
    update(new Error('connection to Redis closed'))
  })
  guard.onModeChange((change) => update(change.cause))

  const defined = new Set<string>()
  const define = (script: RedisScript): string => {
    const name = `userevents_${script.name}`
    if (!defined.has(name)) {
      command.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua })
      defined.add(name)
    }
    return name
  }
  const channels = new Map<string, Set<(message: string) => void>>()
  subscriber.on('ready', () => {
    // SUBSCRIBE is idempotent: a channel already subscribed is simply confirmed.
    for (const channel of channels.keys()) subscriber.subscribe(channel).catch(onError)
  })
  subscriber.on('message', (channel: string, message: string) => {
    for (const listener of channels.get(channel) ?? []) listener(message)
  })

  let closing: Promise<void> | undefined
  return {
    get mode() {
      return mode
    },
    get available() {
      return connected && guard.available
    },
    async ready(readyOptions?: RedisReadyOptions) {
      if (readyOptions !== undefined) {
        if (typeof readyOptions !== 'object' || readyOptions === null) {
          fail('ready', 'an object', readyOptions)
        }
        rejectUnknown('ready.', readyOptions, ['timeoutMs'])
      }
      const timeoutMs = nonNegative(
        'ready.timeoutMs',
        readyOptions?.timeoutMs,
        connectionDefaults.readyTimeoutMs,
      )
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        firstReady,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, timeoutMs)
        }),
      ])
      clearTimeout(timer)
      return mode
    },
    run(op) {
      return guard.run(() => op(command))
    },
    define(scripts) {
      for (const script of scripts) define(script)
    },
    script<T>(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>) {
      const name = define(script)
      const call = (command as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[name]!
      return guard.run(() => call.call(command, ...keys, ...args))
    },
    subscribe(channel, listener) {
      let listeners = channels.get(channel)
      if (listeners === undefined) {
        listeners = new Set()
        channels.set(channel, listeners)
        subscriber.subscribe(channel).catch(onError)
      }
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
        if (listeners.size === 0 && channels.get(channel) === listeners) {
          channels.delete(channel)
          subscriber.unsubscribe(channel).catch(onError)
        }
      }
    },
    onModeChange(listener) {
      modeListeners.add(listener)
      return () => modeListeners.delete(listener)
    },
    close() {
      closing ??= (async () => {
        closed = true
        // Silently: a graceful close is not Redis going away (no warn line, no listener call).
        mode = 'local'
        settleReady()
        guard.shutdown()
        subscriber.disconnect()
        if (owned) command.disconnect()
      })()
      return closing
    },
  }
}

// Private helpers below.

function noop() {}
