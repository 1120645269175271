import { checks, fail } from '../../checks.js'
import type { UpstreamError } from '../../errors/upstream-error.js'
import { type BreakerStateStore, isBreakerStateStore } from './state-store.js'

/** Circuit breaker options; `breaker: false` disables the breaker. */
export interface BreakerOptions {
  /** Failures inside `windowMs` that open the circuit (absolute count, successes do not dilute it). Default 3. */
  failureThreshold?: number
  /** Length of the rolling failure window, in ms. Default 30 000. */
  windowMs?: number
  /** Time the circuit stays open before a half-open probe, in ms. Default 10 000. */
  resetTimeoutMs?: number
  /** Calls allowed to wait during the post-recovery ramp before new ones fail fast. Default 100. */
  maxQueued?: number
  /** The ramp ends (no in-flight limit) once the allowance, doubling per success, reaches this. Default 64. */
  rampLimit?: number
  /** Which errors count as failures. Default: 5xx, 429, timeouts and network errors. */
  isFailure?: (error: UpstreamError) => boolean
  /**
   * Fleet mode: a breaker state shared by every replica of the service (for example
   * `createRedisBreakerStore` from `@userevents/redis`), consulted per operation in front of this
   * local breaker. The fleet circuit opens by the store's rule (by default ≥ `failureThreshold`
   * failures in `windowMs` from ≥ 2 replicas), every replica then fails fast, one replica in the
   * fleet sends the probe, and the ramp is fleet-wide. This local breaker keeps its own rule. When
   * the store is away or slow, the local breaker decides alone. Default: none (local only).
   */
  store?: BreakerStateStore
}

/** @internal Breaker options after validation and defaults. */
export type ResolvedBreakerOptions = Required<Omit<BreakerOptions, 'store'>> & {
  store: BreakerStateStore | undefined
}

/** @internal Defaults of the breaker options. */
export const breakerDefaults = {
  failureThreshold: 3,
  windowMs: 30_000,
  resetTimeoutMs: 10_000,
  maxQueued: 100,
  rampLimit: 64,
} as const

/**
 * The default failure classification of the breaker (and of stale-if-error): 5xx, 429, timeouts
 * and network errors say the upstream is unhealthy; other 4xx, aborts and body problems do not.
 * Useful as a building block for a custom `breaker.isFailure`.
 *
 * @example
 * breaker: { isFailure: (e) => defaultIsFailure(e) && e.status !== 501 }
 */
export function defaultIsFailure(error: UpstreamError): boolean {
  switch (error.code) {
    case 'UPSTREAM_TIMEOUT':
    case 'UPSTREAM_NETWORK':
      return true
    case 'UPSTREAM_HTTP_STATUS':
      return error.status !== undefined && (error.status >= 500 || error.status === 429)
    default:
      return false
  }
}

/** Option names of a breaker, in every place they can be given. */
const BREAKER_KEYS = [
  'failureThreshold',
  'windowMs',
  'resetTimeoutMs',
  'maxQueued',
  'rampLimit',
  'isFailure',
  'store',
]

/**
 * @internal Validates breaker options and fills in defaults, for `createUpstreamClient`'s
 * `breaker` (prefix `breaker.`) and for `createCircuitBreaker` (no prefix, plus `extraKeys` such
 * as `name` and `clock`, which the caller validates).
 */
export function resolveBreakerOptions(
  prefix: string,
  breaker: BreakerOptions | undefined,
  extraKeys: string[],
): ResolvedBreakerOptions {
  const b = breaker ?? {}
  const whole = prefix === '' ? 'options' : prefix.slice(0, -1)
  if (typeof b !== 'object' || b === null) fail(whole, 'an object or false', breaker)
  checks.rejectUnknown(prefix, b, [...BREAKER_KEYS, ...extraKeys])
  const d = breakerDefaults
  if (b.isFailure !== undefined && typeof b.isFailure !== 'function') {
    fail(`${prefix}isFailure`, 'a function', b.isFailure)
  }
  if (b.store !== undefined && !isBreakerStateStore(b.store)) {
    fail(
      `${prefix}store`,
      'a BreakerStateStore (for example from createRedisBreakerStore)',
      b.store,
    )
  }
  return {
    failureThreshold: checks.positiveInteger(
      `${prefix}failureThreshold`,
      b.failureThreshold,
      d.failureThreshold,
    ),
    windowMs: checks.positiveNumber(`${prefix}windowMs`, b.windowMs, d.windowMs, false),
    resetTimeoutMs: checks.positiveNumber(
      `${prefix}resetTimeoutMs`,
      b.resetTimeoutMs,
      d.resetTimeoutMs,
      false,
    ),
    maxQueued: checks.nonNegativeInteger(`${prefix}maxQueued`, b.maxQueued, d.maxQueued),
    rampLimit: checks.positiveInteger(`${prefix}rampLimit`, b.rampLimit, d.rampLimit),
    isFailure: b.isFailure ?? defaultIsFailure,
    store: b.store,
  }
}
