import type { Dispatcher } from 'undici'
import type { CircuitBreaker } from './breaker.js'
import { validateHeaders, validateHeaderValue } from './call-input.js'
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import { InvalidOptionError } from './errors/invalid-option-error.js'
import type { UpstreamError } from './errors/upstream-error.js'
import { type BreakerStateStore, isBreakerStateStore } from './fleet.js'
import {
  type AdaptiveLimitOptions,
  type ResolvedAdaptiveLimit,
  resolveAdaptiveLimit,
} from './policies/adaptive-limit.js'
import {
  type CircuitBreakerPolicy,
  defaultIsFailure,
  sharedPolicies,
} from './policies/circuit-breaker.js'
import {
  type ResolvedRetryBudget,
  type RetryBudgetOptions,
  resolveRetryBudget,
  retryBudgetDefaults,
} from './policies/retry-budget.js'
import { resolveStore } from './policies/shared-tier.js'
import type { SharedStore } from './store.js'
import {
  type ResolvedTelemetryOptions,
  resolveTelemetryOptions,
  type TelemetryOptions,
} from './telemetry/options.js'
import { fail } from './validate.js'

/**
 * The subset of a pino logger the client uses. A pino `Logger` fits as is; so does any logger
 * with `child()` and level methods taking `(fields, message)`.
 */
export interface Logger {
  /** Returns a logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger
  /** Logs at debug level. */
  debug(fields: object, message?: string): void
  /** Logs at info level. */
  info(fields: object, message?: string): void
  /** Logs at warn level. */
  warn(fields: object, message?: string): void
  /** Logs at error level. */
  error(fields: object, message?: string): void
  /** pino's level check; used to skip building fields for disabled levels. */
  isLevelEnabled?(level: string): boolean
}

/** Retry policy options; `retry: false` disables retries. */
export interface RetryOptions {
  /** Retries after the first attempt (so at most `retries + 1` attempts). Default 2. */
  retries?: number
  /** Delay before the first retry, in ms. Default 100. */
  minDelayMs?: number
  /** Upper bound of a backoff delay, in ms (Retry-After may exceed it if it fits the deadline). Default 2000. */
  maxDelayMs?: number
  /** Exponential growth factor of the delay. Default 2. */
  factor?: number
  /** Randomise each delay to 50–100 % of its value so clients do not retry in lockstep. Default true. */
  jitter?: boolean
  /**
   * Retry budget per operation: retries stay under a share of recent calls (default 20 % over
   * 10 s, with a floor of 1 retry per second). A retry it refuses gives the caller the real error
   * at once and is reported to `onBudgetExhausted`. `false` turns it off. On by default.
   */
  budget?: RetryBudgetOptions | false
}

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

/** GET response cache options; `cache: false` (the default) disables caching and coalescing. */
export interface CacheOptions {
  /** Freshness lifetime of an entry, in ms. */
  ttlMs: number
  /** Maximum number of entries. Default 1000. */
  max?: number
  /** Maximum total size of cached bodies, in bytes. Default: unbounded (only `max` applies). */
  maxBytes?: number
  /** Serve an expired entry when the upstream fails or the circuit is open. Default false. */
  staleIfError?: boolean
}

/** Options of {@link createUpstreamClient}. Only `baseUrl` is required. */
export interface UpstreamClientOptions {
  /** Origin plus an optional base path, e.g. `http://event.com/api`. */
  baseUrl: string
  /** Breaker group and logger name. Default: the origin of `baseUrl`. */
  name?: string
  /** pino-compatible logger; the client logs through `logger.child({ upstream: name })`. */
  logger?: Logger
  /** An undici dispatcher to use instead of the client's own keep-alive `Pool`. Not closed by `close()`. */
  dispatcher?: Dispatcher
  /** Keep-alive connections per origin of the client's own pool. Default 50. */
  connections?: number
  /** Timeout of each attempt, in ms. Default 5000. */
  timeoutMs?: number
  /** Deadline of the whole call including retries and waits, in ms (`Infinity` for none). Default 15 000. */
  deadlineMs?: number
  /** Retry policy, or `false`. */
  retry?: RetryOptions | false
  /**
   * Circuit breaker: options for an own breaker (the default), a {@link CircuitBreaker} from
   * `createCircuitBreaker` shared with other clients (not shut down by `close()`), or `false`.
   */
  breaker?: BreakerOptions | CircuitBreaker | false
  /**
   * Most operations that get a breaker of their own (see the README, "Circuit breaker"); calls of
   * further operations share one breaker under the key `(other)`, with one warning. Default 100.
   */
  maxOperations?: number
  /**
   * Most calls of one operation in flight at once (retries and their waits included), so slow
   * calls of one operation cannot take every pooled connection from the others. A call over the
   * limit waits (see `maxWaiting`) or is rejected with `ConcurrencyLimitError`, which is not an
   * upstream failure. Default: no limit.
   */
  maxInFlight?: number
  /**
   * Calls of one operation allowed to wait, within their deadline, for one of its `maxInFlight`
   * slots; further calls are rejected at once. Default 0 (fail fast). Needs `maxInFlight`.
   */
  maxWaiting?: number
  /** GET cache with in-flight coalescing, or `false` (default). */
  cache?: CacheOptions | false
  /**
   * A tier shared by every replica behind the GET cache (needs `cache`): a fresh-cache miss asks
   * the store, and a cold key is fetched once fleet-wide. See {@link SharedStore}. Default none.
   */
  store?: SharedStore
  /** Largest response body accepted, in bytes. Default 10 MiB. */
  maxBodyBytes?: number
  /** Headers sent with every request. */
  headers?: Record<string, string>
  /** Time source; see {@link Clock}. Default: the global timers, looked up on each use. */
  clock?: Clock
  /**
   * OpenTelemetry traces, trace-context propagation and metrics, or `false`. Used only when
   * `@opentelemetry/api` is installed and an SDK is registered when the client is created; see
   * {@link TelemetryOptions}. Default: all on.
   */
  telemetry?: TelemetryOptions | false
  /**
   * Deadline propagation: the header that tells the upstream, on each attempt, how many whole
   * milliseconds the client will still wait for it (the attempt's budget: the smaller of the
   * attempt timeout and the time left before the call's deadline), so a deadline-aware upstream
   * can drop work nobody waits for. `false` sends nothing. Default `'x-request-timeout-ms'`.
   */
  deadlineHeader?: string | false
  /**
   * Adaptive concurrency: a limit on each operation's attempts in flight, learned from their
   * round-trip times (Gradient2), between `minLimit` and `maxLimit`. A call beyond it waits in a
   * bounded queue within its deadline, or fails fast with `ConcurrencyLimitError`. `true` for the
   * defaults; `false` (the default) for none.
   */
  adaptiveLimit?: AdaptiveLimitOptions | boolean
}

/** @internal Options after validation and defaults. */
export interface ResolvedOptions {
  origin: string
  basePath: string
  name: string
  logger: Logger | undefined
  dispatcher: Dispatcher | undefined
  connections: number
  timeoutMs: number
  deadlineMs: number
  retry: ResolvedRetry | false
  /** Options of an own breaker, the policy of a shared one, or `false`. */
  breaker: ResolvedBreakerOptions | CircuitBreakerPolicy | false
  maxOperations: number
  /** `Infinity` when there is no limit. */
  maxInFlight: number
  maxWaiting: number
  cache: { ttlMs: number; max: number; maxBytes: number | undefined; staleIfError: boolean } | false
  store: SharedStore | undefined
  maxBodyBytes: number
  headers: Record<string, string>
  clock: Clock
  telemetry: ResolvedTelemetryOptions
  /** Lower-cased header name, or undefined when propagation is off. */
  deadlineHeader: string | undefined
  adaptiveLimit: ResolvedAdaptiveLimit | false
}

/** @internal Retry options after validation and defaults. */
export type ResolvedRetry = Required<Omit<RetryOptions, 'budget'>> & {
  budget: ResolvedRetryBudget | false
}

/** Default values of every optional setting, exported for documentation and tests. */
export const defaults = {
  connections: 50,
  timeoutMs: 5_000,
  deadlineMs: 15_000,
  maxBodyBytes: 10 * 1024 * 1024,
  retry: {
    retries: 2,
    minDelayMs: 100,
    maxDelayMs: 2_000,
    factor: 2,
    jitter: true,
    budget: retryBudgetDefaults,
  },
  breaker: {
    failureThreshold: 3,
    windowMs: 30_000,
    resetTimeoutMs: 10_000,
    maxQueued: 100,
    rampLimit: 64,
  },
  cache: { max: 1_000 },
  deadlineHeader: 'x-request-timeout-ms',
  maxOperations: 100,
} as const

const TOP_LEVEL_KEYS = [
  'baseUrl',
  'name',
  'logger',
  'dispatcher',
  'connections',
  'timeoutMs',
  'deadlineMs',
  'retry',
  'breaker',
  'maxOperations',
  'maxInFlight',
  'maxWaiting',
  'cache',
  'store',
  'maxBodyBytes',
  'headers',
  'clock',
  'deadlineHeader',
  'adaptiveLimit',
  'telemetry',
]

/**
 * @internal Validates `createUpstreamClient` options and fills in defaults. Throws
 * {@link InvalidOptionError} whose message quotes the bad value.
 */
export function resolveOptions(options: UpstreamClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    fail('options', 'an object', options)
  }
  rejectUnknown('', options as object, TOP_LEVEL_KEYS)

  const url = parseBaseUrl(options.baseUrl)
  const o = options
  if (o.name !== undefined && (typeof o.name !== 'string' || o.name === '')) {
    fail('name', 'a non-empty string', o.name)
  }
  if (
    o.logger !== undefined &&
    !hasMethods(o.logger, ['child', 'debug', 'info', 'warn', 'error'])
  ) {
    fail('logger', 'a pino-compatible logger (child, debug, info, warn, error)', o.logger)
  }
  if (o.dispatcher !== undefined && !hasMethods(o.dispatcher, ['dispatch'])) {
    fail('dispatcher', 'an undici Dispatcher', o.dispatcher)
  }
  validateClock('clock', o.clock)
  if (o.headers !== undefined) validateHeaders('headers', o.headers)

  const connections = positiveInteger('connections', o.connections, defaults.connections)
  const maxInFlight = positiveInteger('maxInFlight', o.maxInFlight, Number.POSITIVE_INFINITY)
  return {
    origin: url.origin,
    basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    name: o.name ?? url.origin,
    logger: o.logger,
    dispatcher: o.dispatcher,
    connections,
    timeoutMs: timerDelay('timeoutMs', o.timeoutMs, defaults.timeoutMs),
    deadlineMs: positiveNumber('deadlineMs', o.deadlineMs, defaults.deadlineMs, true),
    retry: resolveRetry(o.retry),
    breaker: resolveBreaker(o.breaker),
    maxOperations: positiveInteger('maxOperations', o.maxOperations, defaults.maxOperations),
    maxInFlight,
    maxWaiting: resolveMaxWaiting(o.maxWaiting, o.maxInFlight),
    cache: resolveCache(o.cache),
    store: resolveStore(o.store, o.cache !== undefined && o.cache !== false),
    maxBodyBytes: positiveInteger('maxBodyBytes', o.maxBodyBytes, defaults.maxBodyBytes),
    headers: { ...o.headers },
    clock: o.clock ?? systemClock,
    deadlineHeader: resolveDeadlineHeader(o.deadlineHeader),
    // The learned limit lives under the operation's cap: `maxInFlight` when set, else the pool.
    adaptiveLimit: resolveAdaptiveLimit(
      o.adaptiveLimit,
      Number.isFinite(maxInFlight) ? maxInFlight : connections,
    ),
    telemetry: resolveTelemetryOptions(o.telemetry),
  }
}

/** @internal Validates the per-call options the client reads on the hot path. */
export function validateCallOptions(options: {
  timeoutMs?: unknown
  deadlineMs?: unknown
  headers?: unknown
  operation?: unknown
  requestId?: unknown
  idempotencyKey?: unknown
  signal?: unknown
  cache?: unknown
}): void {
  const op = options.operation
  if (op !== undefined && (typeof op !== 'string' || !OPERATION.test(op))) {
    fail('operation', 'a string of 1 to 128 printable ASCII characters', op)
  }
  if (options.timeoutMs !== undefined) timerDelay('timeoutMs', options.timeoutMs, 0)
  if (options.deadlineMs !== undefined) positiveNumber('deadlineMs', options.deadlineMs, 0, true)
  if (options.headers !== undefined) validateHeaders('headers', options.headers)
  // These two travel as header values (x-request-id, idempotency-key): a CR/LF in one would
  // otherwise be found by undici only during the attempt.
  if (options.requestId !== undefined) validateHeaderValue('requestId', options.requestId)
  if (options.idempotencyKey !== undefined) {
    validateHeaderValue('idempotencyKey', options.idempotencyKey)
  }
  const signal = options.signal as { aborted?: unknown; addEventListener?: unknown } | undefined
  if (
    signal !== undefined &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function')
  ) {
    fail('signal', 'an AbortSignal', signal)
  }
  if (options.cache !== undefined && typeof options.cache !== 'boolean') {
    fail('cache', 'a boolean', options.cache)
  }
}

export { fail } from './validate.js'

// Private helpers below.

/** An operation key: bounded printable ASCII, safe as a metric label and inside a Redis key. */
const OPERATION = /^[\x20-\x7e]{1,128}$/

function resolveMaxWaiting(maxWaiting: unknown, maxInFlight: unknown): number {
  const value = nonNegativeInteger('maxWaiting', maxWaiting, 0)
  if (value > 0 && maxInFlight === undefined) fail('maxWaiting', '0 without `maxInFlight`', value)
  return value
}

function resolveRetry(retry: RetryOptions | false | undefined): ResolvedOptions['retry'] {
  if (retry === false) return false
  if (retry === undefined) return { ...defaults.retry, budget: { ...retryBudgetDefaults } }
  if (typeof retry !== 'object' || retry === null) fail('retry', 'an object or false', retry)
  rejectUnknown('retry.', retry, [
    'retries',
    'minDelayMs',
    'maxDelayMs',
    'factor',
    'jitter',
    'budget',
  ])
  const d = defaults.retry
  const retries = nonNegativeInteger('retry.retries', retry.retries, d.retries)
  const minDelayMs = nonNegativeNumber('retry.minDelayMs', retry.minDelayMs, d.minDelayMs)
  const maxDelayMs = nonNegativeNumber(
    'retry.maxDelayMs',
    retry.maxDelayMs,
    Math.max(d.maxDelayMs, minDelayMs),
  )
  if (maxDelayMs < minDelayMs) {
    fail('retry.maxDelayMs', `>= retry.minDelayMs (${minDelayMs})`, maxDelayMs)
  }
  const factor = retry.factor ?? d.factor
  if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
    fail('retry.factor', 'a finite number >= 1', factor)
  }
  const jitter = retry.jitter ?? d.jitter
  if (typeof jitter !== 'boolean') fail('retry.jitter', 'a boolean', jitter)
  return {
    retries,
    minDelayMs,
    maxDelayMs,
    factor,
    jitter,
    budget: resolveRetryBudget(retry.budget),
  }
}

function resolveBreaker(
  breaker: BreakerOptions | CircuitBreaker | false | undefined,
): ResolvedOptions['breaker'] {
  if (breaker === false) return false
  const shared =
    typeof breaker === 'object' && breaker !== null ? sharedPolicies.get(breaker) : undefined
  if (shared !== undefined) return shared
  return resolveBreakerOptions('breaker.', breaker as BreakerOptions | undefined, [])
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
  rejectUnknown(prefix, b, [...BREAKER_KEYS, ...extraKeys])
  const d = defaults.breaker
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
    failureThreshold: positiveInteger(
      `${prefix}failureThreshold`,
      b.failureThreshold,
      d.failureThreshold,
    ),
    windowMs: positiveNumber(`${prefix}windowMs`, b.windowMs, d.windowMs, false),
    resetTimeoutMs: positiveNumber(
      `${prefix}resetTimeoutMs`,
      b.resetTimeoutMs,
      d.resetTimeoutMs,
      false,
    ),
    maxQueued: nonNegativeInteger(`${prefix}maxQueued`, b.maxQueued, d.maxQueued),
    rampLimit: positiveInteger(`${prefix}rampLimit`, b.rampLimit, d.rampLimit),
    isFailure: b.isFailure ?? defaultIsFailure,
    store: b.store,
  }
}

/** @internal Validates an injected clock (client and shared breaker options). */
export function validateClock(option: string, clock: unknown): void {
  if (clock !== undefined && !hasMethods(clock, ['now', 'setTimeout', 'clearTimeout'])) {
    fail(option, 'an object with now, setTimeout and clearTimeout', clock)
  }
}

function resolveCache(cache: CacheOptions | false | undefined): ResolvedOptions['cache'] {
  if (cache === false || cache === undefined) return false
  if (typeof cache !== 'object' || cache === null) fail('cache', 'an object or false', cache)
  rejectUnknown('cache.', cache, ['ttlMs', 'max', 'maxBytes', 'staleIfError'])
  if (cache.ttlMs === undefined) fail('cache.ttlMs', 'a positive number', undefined)
  const staleIfError = cache.staleIfError ?? false
  if (typeof staleIfError !== 'boolean') fail('cache.staleIfError', 'a boolean', staleIfError)
  return {
    ttlMs: positiveNumber('cache.ttlMs', cache.ttlMs, 0, false),
    max: positiveInteger('cache.max', cache.max, defaults.cache.max),
    maxBytes:
      cache.maxBytes === undefined
        ? undefined
        : positiveInteger('cache.maxBytes', cache.maxBytes, 0),
    staleIfError,
  }
}

/** An RFC 9110 token: what a header name may be made of. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function resolveDeadlineHeader(header: unknown): string | undefined {
  if (header === false) return undefined
  if (header === undefined) return defaults.deadlineHeader
  if (typeof header !== 'string' || !HEADER_NAME.test(header)) {
    fail('deadlineHeader', 'a header name or false', header)
  }
  return header.toLowerCase()
}

function parseBaseUrl(baseUrl: unknown): URL {
  if (typeof baseUrl !== 'string') fail('baseUrl', 'an absolute http(s) URL', baseUrl)
  let url: URL
  try {
    url = new URL(baseUrl)
  } catch {
    fail('baseUrl', 'an absolute http(s) URL', baseUrl)
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    fail('baseUrl', 'an absolute http(s) URL', baseUrl)
  }
  if (url.search !== '' || url.hash !== '') {
    fail('baseUrl', 'a URL without query or fragment', baseUrl)
  }
  return url
}

function rejectUnknown(prefix: string, value: object, known: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(
        `${prefix}${key}`,
        `Unknown option \`${prefix}${key}\`; expected one of ${known.join(', ')}`,
        (value as Record<string, unknown>)[key],
      )
    }
  }
}

function hasMethods(value: unknown, methods: string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  )
}

function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(option, 'a positive integer', value)
  }
  return value
}

function nonNegativeInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(option, 'a non-negative integer', value)
  }
  return value
}

function nonNegativeNumber(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(option, 'a non-negative number', value)
  }
  return value
}

/** Largest delay a timer accepts; Node fires longer ones at once. */
const MAX_TIMER_MS = 2_147_483_647

function timerDelay(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
    fail(option, `a positive number up to ${MAX_TIMER_MS}`, value)
  }
  return value
}

function positiveNumber(
  option: string,
  value: unknown,
  fallback: number,
  allowInfinity: boolean,
): number {
  if (value === undefined) return fallback
  const ok =
    typeof value === 'number' &&
    value > 0 &&
    (Number.isFinite(value) || (allowInfinity && value === Number.POSITIVE_INFINITY))
  if (!ok)
    fail(option, allowInfinity ? 'a positive number or Infinity' : 'a positive number', value)
  return value as number
}
