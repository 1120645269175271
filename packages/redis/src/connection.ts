import type { Logger } from '@userevents/upstream-client'
import { Cluster } from 'ioredis'
import { type Clients, openClients, type RedisClient, resolveTarget } from './clients.js'
import { FleetModeTracker } from './fleet-mode.js'
import {
  type FleetMode,
  type FleetModeChange,
  type RedisBreakerOptions,
  RedisGuard,
  resolveBreaker,
} from './guard.js'
import { fail, nonNegative, positive, rejectUnknown } from './options.js'
import { Subscriptions } from './subscriptions.js'

/** Options of {@link createRedisConnection}. Give exactly one of `url`, `cluster` or `redis`. */
export interface RedisConnectionOptions {
  /** `redis://[:password@]host:port[/db]`. The connections made from it are closed by `close()`. */
  url?: string
  /**
   * The start-up nodes of a Redis Cluster, each `host:port` or a `redis://[user:password@]host:port`
   * (`rediss://` for TLS) URL; more nodes are discovered from the cluster. Credentials and TLS
   * apply to every node, so the entries must agree on them. The connections made from it are
   * closed by `close()`.
   *
   * @example
   * createRedisConnection({ cluster: ['redis://:secret@10.0.0.1:6379', 'redis://:secret@10.0.0.2:6379'] })
   */
  cluster?: readonly string[]
  /**
   * An ioredis client of your own, `Redis` or `Cluster`, used for commands and never closed by
   * `close()` (its options, e.g. `commandTimeout` and `enableOfflineQueue`, are yours to set).
   * The subscriber connection is a `duplicate()` of it, owned by this connection.
   */
  redis?: RedisClient
  /**
   * Timeout of each Redis command, in ms (connections made from `url` or `cluster`). On a cluster
   * (made here or yours) it also bounds each call as a whole, redirections and failover retries
   * included. Default 50.
   */
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
  /**
   * `single` for one Redis server, `cluster` for a Redis Cluster (its health is `CLUSTER INFO`
   * reporting `cluster_state:ok`, not one node's `PING`).
   */
  readonly topology: 'single' | 'cluster'
  /** Runs one command through the circuit. Rejects at once in local mode. */
  run<T>(op: (redis: RedisClient) => Promise<T>): Promise<T>
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
  /**
   * Closes what this connection opened (not an ioredis client passed as `redis`) and stops its
   * timers: nothing of it keeps the process alive afterwards, Redis up or down. Idempotent.
   */
  close(): Promise<void>
}

/** Default settings of {@link createRedisConnection}. */
export const connectionDefaults = { commandTimeoutMs: 50, readyTimeoutMs: 1_000 } as const

/**
 * Connects to Redis, one server or a Redis Cluster, for fleet mode. Never throws because Redis is
 * down: it starts in local mode (with one warning naming the cause when the first connection
 * attempt fails) and switches to fleet mode once the command connection is ready (await
 * {@link RedisConnection.ready} for that at start-up), and back to local mode when Redis fails;
 * the connections keep reconnecting in the background and the circuit's probe (`PING`, or
 * `CLUSTER INFO` on a cluster) brings the replica back.
 *
 * @example
 * const redis = createRedisConnection({ url: process.env.REDIS_URL, logger })
 * await redis.ready({ timeoutMs: 2_000 }) // 'fleet', or 'local' if Redis is away: serve anyway
 * const store = createRedisStore({ connection: redis, namespace: 'event-service' })
 * app.get('/readyz', () => ({ redis: redis.mode === 'fleet' ? 'ok' : 'degraded' }))
 */
export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  rejectUnknown('', options, CONNECTION_KEYS)
  const target = resolveTarget(options)
  const commandTimeout = positive(
    'commandTimeoutMs',
    options.commandTimeoutMs,
    connectionDefaults.commandTimeoutMs,
  )
  const breakerOptions = resolveBreaker(options.breaker)
  const logger = options.logger?.child({ component: 'redis' })
  // Every option is valid: only now is anything opened.
  const clients = openClients(target, commandTimeout)
  const { command, subscriber } = clients
  // A cluster's calls can be redirected and retried during a failover; this bounds them whole.
  const bound = clients.cluster
    ? <T>(op: () => Promise<T>) => withTimeout(op(), commandTimeout)
    : <T>(op: () => Promise<T>) => op()
  const guard = new RedisGuard(breakerOptions, () => bound(() => healthProbe(clients)))
  const tracker = new FleetModeTracker(command, guard, logger)
  // An 'error' event without a listener would crash the process; Redis being away is expected.
  const onError = (error: Error) => tracker.onError(error)
  command.on('error', onError)
  subscriber.on('error', onError)
  const subscriptions = new Subscriptions(subscriber, onError)
  const define = scriptDefiner(command)

  let closing: Promise<void> | undefined
  return {
    get mode() {
      return tracker.mode
    },
    get available() {
      return tracker.available
    },
    topology: clients.cluster ? 'cluster' : 'single',
    ready: (readyOptions) => waitReady(tracker, readyOptions),
    run: (op) => guard.run(() => bound(() => op(command))),
    define(scripts) {
      for (const script of scripts) define(script)
    },
    script<T>(script: RedisScript, keys: readonly string[], args: ReadonlyArray<string | number>) {
      const name = define(script)
      const call = (command as unknown as Record<string, (...a: unknown[]) => Promise<T>>)[name]!
      return guard.run(() => bound(() => call.call(command, ...keys, ...args)))
    },
    subscribe: (channel, listener) => subscriptions.add(channel, listener),
    onModeChange: (listener) => tracker.onModeChange(listener),
    close() {
      closing ??= closeClients(clients, tracker, guard)
      return closing
    },
  }
}

// Private helpers below.

const CONNECTION_KEYS = ['url', 'cluster', 'redis', 'commandTimeoutMs', 'breaker', 'logger']

/** Private: defines each script once on the command client; returns the command's name. */
function scriptDefiner(command: RedisClient): (script: RedisScript) => string {
  const defined = new Set<string>()
  return (script) => {
    const name = `userevents_${script.name}`
    if (!defined.has(name)) {
      command.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua })
      defined.add(name)
    }
    return name
  }
}

/** Private: {@link RedisConnection.ready}: the first `ready` or the timeout, whichever is first. */
async function waitReady(
  tracker: FleetModeTracker,
  readyOptions: RedisReadyOptions | undefined,
): Promise<FleetMode> {
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
    tracker.firstReady,
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    }),
  ])
  clearTimeout(timer)
  return tracker.mode
}

/**
 * Private: the half-open probe. One server: `PING`. A cluster: `CLUSTER INFO` must say
 * `cluster_state:ok`: during a failover the surviving nodes answer `PING` while a slot range has
 * no primary, and fleet mode must wait until every slot is served again.
 */
async function healthProbe(clients: Clients): Promise<void> {
  if (!clients.cluster) {
    await clients.command.ping()
    return
  }
  const info = String(await (clients.command as RedisClient).cluster('INFO'))
  if (!/^cluster_state:ok\s*$/m.test(info)) {
    const state = /^cluster_state:(\w+)/m.exec(info)?.[1] ?? 'unknown'
    throw new Error(`Redis Cluster not healthy: cluster_state:${state}`)
  }
}

/**
 * Private: ends both clients (the command client only if it was made here) and every timer, so
 * nothing of this connection keeps the process alive. `disconnect()` rather than `quit()`: quit
 * waits for a reply that a Redis that is away never sends.
 */
async function closeClients(
  clients: Clients,
  tracker: FleetModeTracker,
  guard: RedisGuard,
): Promise<void> {
  tracker.close()
  guard.shutdown()
  endNow(clients.subscriber)
  if (clients.owned) endNow(clients.command)
}

/**
 * Private: `disconnect()`, and on a cluster also its internal subscriber connection ended at
 * once. ioredis makes that connection itself with the default 2 s `disconnectTimeout` (no option
 * reaches it); a disconnect of a socket that had already closed (one caught mid-connect, or the
 * ready check failing because of this very close, which disconnects once more) arms a 2 s timer
 * that nothing clears, and kept the process alive 2 s after `close()` (seen under load).
 */
function endNow(client: RedisClient): void {
  const connector =
    client instanceof Cluster
      ? (client as unknown as InternalCluster).subscriber?.getInstance?.()?.connector
      : undefined
  if (connector !== undefined && typeof connector.disconnectTimeout === 'number') {
    connector.disconnectTimeout = 0
  }
  client.disconnect()
  // After disconnect(), whose 'close' listener clears its timer. The connector's socket: the
  // client's own `stream` is only set once connected.
  connector?.stream?.destroy()
}

/** Private: the ioredis internals `endNow` reaches (guarded: absent ones are skipped). */
interface InternalCluster {
  subscriber?: {
    getInstance?(): {
      connector?: { disconnectTimeout?: number; stream?: { destroy(): void } }
    } | null
  }
}

/** Private: `promise`, or a rejection after `ms` (the timer never outlives the call). */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis Cluster call timed out after ${ms} ms`)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}
