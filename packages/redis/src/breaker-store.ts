import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import {
  type BreakerStateStore,
  type BreakerStoreEvent,
  breakerStateStoreKind,
  type FleetCircuit,
  type FleetCircuitState,
  type FleetOutcome,
  type FleetPermit,
  type FleetRule,
  type FleetView,
} from '@userevents/upstream-client'
import { breakerAcquire, breakerFailure, breakerRead, breakerRelease } from './breaker-scripts.js'
import type { RedisConnection } from './connection.js'
import { breakerChannelOf, breakerKeysOf } from './keys.js'
import { fail, positive, positiveInteger, rejectUnknown } from './options.js'

/** Options of {@link createRedisBreakerStore}. */
export interface RedisBreakerStoreOptions {
  /** The Redis connection (from `createRedisConnection`), shared with other stores; not closed here. */
  connection: RedisConnection
  /** Keys are `userevents:v2:{<namespace>:<name>|<operation>}:cb:...`; one namespace per service. Required. */
  namespace: string
  /**
   * Distinct replicas whose failures must be in the window before the fleet circuit opens, so
   * that one replica with a broken network cannot open it for everyone. `1`: any replica's
   * failures count. Default 2.
   */
  quorum?: number
  /** This replica's identity in the quorum count. Default: host name, pid and a random suffix. */
  replicaId?: string
  /**
   * How long a circuit's state outlives its last change, in ms (every key has a TTL). An open
   * circuit nobody probes within `resetTimeoutMs` + this is forgotten (closed). Default 60 000.
   */
  stateTtlMs?: number
}

/** A {@link BreakerStateStore} on Redis; see {@link createRedisBreakerStore}. */
export interface RedisBreakerStore extends BreakerStateStore {
  /** The quorum of distinct replicas in force. */
  readonly quorum: number
  /** This replica's identity in the quorum count. */
  readonly replicaId: string
  /** Stops listening to the channel and the connection. The connection stays open. Idempotent. */
  close(): void
}

/** Default settings of {@link createRedisBreakerStore}. */
export const breakerStoreDefaults = { quorum: 2, stateTtlMs: 60_000 } as const

/**
 * Creates the fleet-wide breaker state on Redis, for `breaker.store` of
 * `createUpstreamClient` (or `createCircuitBreaker`). One circuit per operation of each upstream,
 * shared by every replica:
 *
 * - it opens at ≥ `failureThreshold` failures in `windowMs` (the client's breaker options) coming
 *   from ≥ `quorum` distinct replicas, counted by one Lua script in Redis;
 * - the opening is published on a channel (pub/sub, on the connection's subscriber), so every
 *   replica fails fast within one Redis round trip;
 * - past `resetTimeoutMs`, exactly one replica in the fleet gets the probe lease
 *   (`SET NX PX`, released by its token); its outcome re-opens the circuit or starts the
 *   fleet-wide ramp (slots doubling from 2 to `rampLimit`);
 * - while Redis is away (the connection's local circuit is open) the store reports
 *   `unavailable` and each replica's local breaker decides alone, until Redis is back.
 *
 * @example
 * import { createUpstreamClient } from '@userevents/upstream-client'
 * import { createRedisBreakerStore, createRedisConnection } from '@userevents/redis'
 *
 * const connection = createRedisConnection({ url: 'redis://127.0.0.1:6379' })
 * const store = createRedisBreakerStore({ connection, namespace: 'event-service', quorum: 2 })
 * const client = createUpstreamClient({ baseUrl: 'http://event.com', breaker: { store } })
 */
export function createRedisBreakerStore(options: RedisBreakerStoreOptions): RedisBreakerStore {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  rejectUnknown('', options, ['connection', 'namespace', 'quorum', 'replicaId', 'stateTtlMs'])
  const { connection, namespace } = options
  if (
    typeof connection !== 'object' ||
    connection === null ||
    typeof connection.script !== 'function' ||
    typeof connection.define !== 'function' ||
    typeof connection.subscribe !== 'function' ||
    typeof connection.onModeChange !== 'function'
  ) {
    fail('connection', 'a RedisConnection from createRedisConnection', connection)
  }
  if (typeof namespace !== 'string' || !/^[\w.-]{1,64}$/.test(namespace)) {
    fail('namespace', 'a string of 1-64 letters, digits, `_`, `.` or `-`', namespace)
  }
  const quorum = positiveInteger('quorum', options.quorum, breakerStoreDefaults.quorum)
  const stateTtlMs = positive('stateTtlMs', options.stateTtlMs, breakerStoreDefaults.stateTtlMs)
  const replicaId = options.replicaId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  if (typeof replicaId !== 'string' || replicaId === '' || replicaId.length > 200) {
    fail('replicaId', 'a non-empty string of at most 200 characters', replicaId)
  }

  const channel = breakerChannelOf(namespace)
  const listeners = new Set<(event: BreakerStoreEvent) => void>()
  const emit = (event: BreakerStoreEvent) => {
    for (const listener of listeners) {
      try {
        listener(event)
      } catch {
        // A client's listener failing must not keep the others from hearing the change.
      }
    }
  }
  let reports = 0

  const keysOf = (circuit: FleetCircuit) =>
    breakerKeysOf(namespace, circuit.name, circuit.operation)
  const circuitJson = (circuit: FleetCircuit) => JSON.stringify([circuit.name, circuit.operation])
  const run = (
    script: typeof breakerRead,
    circuit: FleetCircuit,
    args: ReadonlyArray<string | number>,
  ) => connection.script<[string, number | string]>(script, keysOf(circuit), args)

  // Before any command: see RedisConnection.define (ioredis auto-pipelining).
  connection.define([breakerFailure, breakerAcquire, breakerRelease, breakerRead])
  // Subscribed at creation, so a replica hears of an opening before its first call.
  const unsubscribeChannel = connection.subscribe(channel, (message) => {
    const change = parseMessage(message)
    if (change !== undefined) emit({ type: 'state', ...change })
  })
  const unsubscribeMode = connection.onModeChange((change) => {
    emit({ type: change.mode === 'fleet' ? 'available' : 'unavailable' })
  })

  let closed = false
  return {
    kind: breakerStateStoreKind,
    quorum,
    replicaId,
    get available() {
      return !closed && connection.available
    },
    async read(circuit) {
      return toView(await run(breakerRead, circuit, []))
    },
    async recordFailure(circuit, rule) {
      const member = `${replicaId}:${++reports}`
      return toView(
        await run(breakerFailure, circuit, [
          replicaId,
          member,
          rule.failureThreshold,
          Math.ceil(rule.windowMs),
          quorum,
          Math.ceil(rule.resetTimeoutMs),
          Math.ceil(stateTtlMs),
          channel,
          circuitJson(circuit),
        ]),
      )
    },
    async acquire(circuit, _rule, leaseMs): Promise<FleetPermit> {
      const token = randomUUID()
      const [first, second] = await run(breakerAcquire, circuit, [token, Math.ceil(leaseMs)])
      if (first === 'granted') {
        return { granted: true, kind: second === 'ramp' ? 'ramp' : 'probe', token }
      }
      return { granted: false, view: toView([first, second]) }
    },
    async release(circuit: FleetCircuit, rule: FleetRule, token: string, outcome: FleetOutcome) {
      return toView(
        await run(breakerRelease, circuit, [
          token,
          outcome,
          Math.ceil(rule.resetTimeoutMs),
          rule.rampLimit,
          Math.ceil(stateTtlMs),
          channel,
          circuitJson(circuit),
        ]),
      )
    },
    subscribe(listener) {
      if (typeof listener !== 'function') fail('listener', 'a function', listener)
      listeners.add(listener)
      return () => {
        listeners.delete(listener)
      }
    },
    close() {
      if (closed) return
      closed = true
      unsubscribeChannel()
      unsubscribeMode()
      listeners.clear()
    },
  }
}

// Private helpers below.

const STATES: ReadonlySet<string> = new Set(['closed', 'open', 'halfOpen', 'recovering'])

/** Private: a script's `{state, retryAfterMs}` reply as a view. */
function toView([state, retryAfterMs]: [string, number | string]): FleetView {
  return {
    state: STATES.has(state) ? (state as FleetCircuitState) : 'closed',
    retryAfterMs: Number(retryAfterMs) || 0,
  }
}

/** Private: `state \n retryAfterMs \n ["name","operation"]`, as the scripts publish it. */
function parseMessage(message: string): { circuit: FleetCircuit; view: FleetView } | undefined {
  const first = message.indexOf('\n')
  const second = message.indexOf('\n', first + 1)
  if (first === -1 || second === -1) return undefined
  try {
    const [name, operation] = JSON.parse(message.slice(second + 1)) as [unknown, unknown]
    if (typeof name !== 'string' || typeof operation !== 'string') return undefined
    return {
      circuit: { name, operation },
      view: toView([message.slice(0, first), message.slice(first + 1, second)]),
    }
  } catch {
    return undefined
  }
}
