import type { Logger } from '@userevents/upstream-client'
import { Redis, type RedisOptions } from 'ioredis'
import {
  type FleetMode,
  type FleetModeChange,
  type RedisBreakerOptions,
  RedisGuard,
  resolveBreaker,
} from './guard.js'
import { fail, positive, rejectUnknown } from './options.js'

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
  /** `fleet` while Redis answers; `local` while the circuit around it is open. */
  readonly mode: FleetMode
  /**
   * False while the command connection is not connected or the circuit around Redis is open:
   * callers go straight to their local path without sending anything.
   */
  readonly available: boolean
  /**
   * Resolves once the command connection is ready (the first time); for start-up and tests.
   * It never resolves while Redis is unreachable: bound the wait (`Promise.race` with a timer).
   */
  ready(): Promise<void>
  /** Runs one command through the circuit. Rejects at once in local mode. */
  run<T>(op: (redis: Redis) => Promise<T>): Promise<T>
  /** Runs a Lua script (loaded once) through the circuit. */
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
export const connectionDefaults = { commandTimeoutMs: 50 } as const

/**
 * Connects to Redis for fleet mode. Never throws because Redis is down: it is in local mode until
 * the command connection is ready (nothing waits on a socket that is not connected), then in
 * fleet mode, and back in local mode while the connection is closed or the circuit around Redis
 * is open; the connections keep reconnecting in the background and the circuit's probe brings
 * the replica back.
 *
 * @example
 * const redis = createRedisConnection({ url: process.env.REDIS_URL, logger })
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
  const subscriber = command.duplicate({
    enableOfflineQueue: true,
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
  const update = (cause?: unknown) => {
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
  const ready = new Promise<void>((resolve) => {
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
  const channels = new Map<string, Set<(message: string) => void>>()
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
    ready() {
      return ready
    },
    run(op) {
      return guard.run(() => op(command))
    },
    script<T>(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>) {
      const name = `userevents_${script.name}`
      if (!defined.has(name)) {
        command.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua })
        defined.add(name)
      }
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
        guard.shutdown()
        subscriber.disconnect()
        if (owned) command.disconnect()
      })()
      return closing
    },
  }
}
