import CircuitBreaker from 'opossum'
import { fail, positive, positiveInteger, rejectUnknown } from './options.js'

/**
 * The mode a replica is in: `fleet` while Redis answers, `local` while the circuit around Redis
 * is open or probing (every call then takes the same path as having no Redis at all).
 */
export type FleetMode = 'fleet' | 'local'

/** Options of the local circuit around Redis; see {@link RedisConnectionOptions.breaker}. */
export interface RedisBreakerOptions {
  /** Redis commands in the rolling window before the circuit may open at all. Default 3. */
  volumeThreshold?: number
  /** Share of failed commands in the window that opens it, in percent (once the threshold is met). Default 50. */
  errorThresholdPercentage?: number
  /** Length of the rolling window, in ms. Default 10 000. */
  windowMs?: number
  /** How long the circuit stays open before a probe (`PING`; a cluster: `CLUSTER INFO`) checks Redis, in ms. Default 1 000. */
  resetTimeoutMs?: number
}

/** Called when the replica switches between fleet and local mode. */
export interface FleetModeChange {
  /** The new mode. */
  mode: FleetMode
  /** The previous mode. */
  previous: FleetMode
  /** The Redis error that tipped the circuit, when switching to `local`. */
  cause?: unknown
}

/** @internal Defaults of {@link RedisBreakerOptions}. */
export const breakerDefaults = {
  volumeThreshold: 3,
  errorThresholdPercentage: 50,
  windowMs: 10_000,
  resetTimeoutMs: 1_000,
} as const

/**
 * @internal The local circuit around Redis, on opossum. Every Redis command runs through
 * `run`; while the circuit is open `run` rejects at once without touching the socket, and the
 * callers take their local path. When the reset timeout elapses the connection's probe (`PING`,
 * or `CLUSTER INFO` needing `cluster_state:ok` on a cluster) is sent as the half-open probe, so a
 * replica rejoins fleet mode by itself even without traffic.
 */
export class RedisGuard {
  readonly #breaker: CircuitBreaker<[() => Promise<unknown>], unknown>
  readonly #listeners = new Set<(change: FleetModeChange) => void>()
  #mode: FleetMode = 'fleet'
  #lastError: unknown

  constructor(options: Required<RedisBreakerOptions>, probe: () => Promise<unknown>) {
    const o = options
    this.#breaker = new CircuitBreaker((op: () => Promise<unknown>) => op(), {
      // ioredis' commandTimeout bounds each command; a second timer here would only race it.
      timeout: false,
      resetTimeout: o.resetTimeoutMs,
      rollingCountTimeout: o.windowMs,
      rollingCountBuckets: 10,
      volumeThreshold: o.volumeThreshold,
      errorThresholdPercentage: o.errorThresholdPercentage,
    })
    this.#breaker.on('failure', (error: unknown) => {
      this.#lastError = error
    })
    this.#breaker.on('open', () => this.#set('local'))
    this.#breaker.on('close', () => this.#set('fleet'))
    this.#breaker.on('halfOpen', () => {
      // The probe's outcome moves the circuit (close or re-open); its result is not needed.
      this.run(probe).catch(noop)
    })
  }

  /** `fleet` or `local`; see {@link FleetMode}. */
  get mode(): FleetMode {
    return this.#mode
  }

  /** True while commands may be sent (closed circuit, or the half-open probe's turn). */
  get available(): boolean {
    return !this.#breaker.opened
  }

  /** Runs one Redis operation through the circuit. Rejects at once while it is open. */
  run<T>(op: () => Promise<T>): Promise<T> {
    return this.#breaker.fire(op) as Promise<T>
  }

  /** Subscribes to mode changes; returns the unsubscribe function. */
  onModeChange(listener: (change: FleetModeChange) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Stops the circuit's timers. */
  shutdown(): void {
    this.#breaker.shutdown()
  }

  #set(mode: FleetMode): void {
    if (mode === this.#mode) return
    const previous = this.#mode
    this.#mode = mode
    const change: FleetModeChange =
      mode === 'local' ? { mode, previous, cause: this.#lastError } : { mode, previous }
    for (const listener of this.#listeners) listener(change)
  }
}

/** @internal Validates the `breaker` option and fills its defaults. */
export function resolveBreaker(
  options: RedisBreakerOptions | undefined,
): Required<RedisBreakerOptions> {
  if (options === undefined) return { ...breakerDefaults }
  if (typeof options !== 'object' || options === null) fail('breaker', 'an object', options)
  rejectUnknown('breaker.', options, Object.keys(breakerDefaults))
  const d = breakerDefaults
  const errorThresholdPercentage = positive(
    'breaker.errorThresholdPercentage',
    options.errorThresholdPercentage,
    d.errorThresholdPercentage,
  )
  if (errorThresholdPercentage > 100) {
    fail('breaker.errorThresholdPercentage', 'a percentage in (0, 100]', errorThresholdPercentage)
  }
  return {
    volumeThreshold: positiveInteger(
      'breaker.volumeThreshold',
      options.volumeThreshold,
      d.volumeThreshold,
    ),
    errorThresholdPercentage,
    windowMs: positive('breaker.windowMs', options.windowMs, d.windowMs),
    resetTimeoutMs: positive('breaker.resetTimeoutMs', options.resetTimeoutMs, d.resetTimeoutMs),
  }
}

// Private helpers below.

function noop() {}
