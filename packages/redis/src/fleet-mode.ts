import type { Logger } from '@userevents/upstream-client'
import type { RedisClient } from './clients.js'
import type { FleetMode, FleetModeChange, RedisGuard } from './guard.js'

/**
 * @internal The connection's mode, from two inputs: the command client being connected (while it
 * reconnects nothing is sent, so nothing waits on a dead socket) and the circuit around Redis
 * being closed (slow or failing commands). Emits one change, and logs one line, per switch; and
 * one warning with the cause when the very first connection attempt fails, so a wrong address
 * is noticed at start instead of the service running silently in local mode.
 */
export class FleetModeTracker {
  readonly #listeners = new Set<(change: FleetModeChange) => void>()
  readonly #guard: RedisGuard
  readonly #logger: Logger | undefined
  #connected: boolean
  #mode: FleetMode
  #everReady: boolean
  #warnedAtStart = false
  /** A cluster's failing nodes (`host:port`), named in the cause: which address is wrong. */
  readonly #failedNodes = new Set<string>()
  // Set by close(): the connections it ends are not an outage, so no switch is logged or emitted.
  #closed = false
  #settleReady: () => void = noop
  /** Settled by the first `ready` of the command client, or by close(). */
  readonly firstReady: Promise<void>

  constructor(command: RedisClient, guard: RedisGuard, logger: Logger | undefined) {
    this.#guard = guard
    this.#logger = logger
    this.#connected = command.status === 'ready'
    this.#everReady = this.#connected
    this.#mode = this.#connected ? 'fleet' : 'local'
    this.firstReady = new Promise<void>((resolve) => {
      this.#settleReady = resolve
      if (this.#connected) resolve()
    })
    command.on('ready', () => {
      this.#connected = true
      this.#everReady = true
      this.#settleReady()
      this.#update()
    })
    command.on('close', () => {
      this.#connected = false
      this.#update(new Error('connection to Redis closed'))
    })
    guard.onModeChange((change) => this.#update(change.cause))
    // A cluster reports "Failed to refresh slots cache." as its error (ioredis swallows the
    // nodes' own connect errors); which nodes failed comes as 'node error' events.
    command.on('node error', (_error: Error, node: string) => {
      this.#failedNodes.add(node)
    })
  }

  /** `fleet` or `local`; see {@link FleetMode}. */
  get mode(): FleetMode {
    return this.#mode
  }

  /** True while commands may be sent: connected, and the circuit lets them through. */
  get available(): boolean {
    return this.#connected && this.#guard.available
  }

  /** Subscribes to switches; returns the unsubscribe function. */
  onModeChange(listener: (change: FleetModeChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * A connection error of either client: debug-logged, except the first one before the command
   * client was ever ready, which is the one start-up warning (with its cause).
   */
  onError(error: Error): void {
    if (!this.#everReady && !this.#warnedAtStart && !this.#closed) {
      this.#warnedAtStart = true
      this.#logger?.warn(
        { mode: this.#mode, cause: causeOf(error, this.#failedNodes) },
        'Redis unreachable at start: serving from local caches until it answers',
      )
      return
    }
    this.#logger?.debug({ err: causeOf(error, this.#failedNodes) }, 'redis connection error')
  }

  /** Silently local: a graceful close is not Redis going away (no warn line, no listener call). */
  close(): void {
    this.#closed = true
    this.#mode = 'local'
    this.#settleReady()
  }

  #update(cause?: unknown): void {
    if (this.#closed) return
    const next: FleetMode = this.#connected && this.#guard.mode === 'fleet' ? 'fleet' : 'local'
    if (next === this.#mode) return
    const previous = this.#mode
    const change: FleetModeChange =
      next === 'local' ? { mode: next, previous, cause } : { mode: next, previous }
    this.#mode = next
    // One line per switch, never one per failed command.
    if (next === 'local') {
      this.#logger?.warn(
        { mode: next, cause: causeOf(cause) },
        'Redis unavailable: fleet mode off, serving from local caches',
      )
    } else {
      this.#logger?.info({ mode: next }, 'Redis available: fleet mode on')
    }
    for (const listener of this.#listeners) listener(change)
  }
}

// Private helpers below.

/** Private: the message of an error, naming the failing nodes of a cluster. */
function causeOf(error: unknown, failedNodes?: ReadonlySet<string>): string | undefined {
  if (error === undefined || error === null) return undefined
  const message = (error as Error).message
  if (failedNodes === undefined || failedNodes.size === 0) return message
  return `${message} Nodes: ${[...failedNodes].join(', ')}`
}

function noop() {}
