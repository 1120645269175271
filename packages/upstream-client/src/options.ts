import type { Dispatcher } from 'undici'
import { validateHeaders } from './call-input.js'
import { checks, fail, hasMethods, isHeaderToken, validateClock } from './checks.js'
import type { Clock } from './clock.js'
import { systemClock } from './clock.js'
import type { Logger } from './logging.js'
import type { UpstreamStep } from './pipeline.js'
import {
  type AdaptiveLimitOptions,
  type ResolvedAdaptiveLimit,
  resolveAdaptiveLimit,
} from './policies/adaptive-limit.js'
import { type ResolvedBreaker, resolveBreaker } from './policies/breaker/layer.js'
import { type BreakerOptions, breakerDefaults } from './policies/breaker/options.js'
import type { CircuitBreaker } from './policies/breaker/shared.js'
import { type BulkheadOptions, resolveBulkhead } from './policies/bulkhead.js'
import {
  type CacheOptions,
  cacheDefaults,
  type ResponseCacheOptions,
  resolveCache,
} from './policies/cache.js'
import { type HedgeOptions, type ResolvedHedge, resolveHedge } from './policies/hedge.js'
import {
  type RateLimitOptions,
  type ResolvedRateLimit,
  resolveRateLimit,
} from './policies/rate-limit.js'
import { retryBudgetDefaults } from './policies/retry/budget.js'
import {
  type ResolvedRetry,
  type RetryOptions,
  resolveRetry,
  retryDefaults,
} from './policies/retry/retry.js'
import { resolveStore } from './policies/shared-tier.js'
import type { SharedStore, SharedStoreV1 } from './shared-store.js'
import {
  type ResolvedTelemetryOptions,
  resolveTelemetryOptions,
  type TelemetryOptions,
} from './telemetry/options.js'
import { type ResolvedSteps, resolveSteps } from './user-steps.js'

// The client's options: the public option type and `resolveOptions`, which delegates each
// policy's options to the policy's own `resolve…()`. Imported by `client.ts` alone; no policy
// imports this module.

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
   * the store, and a cold key is fetched (or an expired one revalidated) once fleet-wide. See
   * {@link SharedStore}; a v1 store ({@link SharedStoreV1}) is adapted. Default none.
   */
  store?: SharedStore | SharedStoreV1
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
  /**
   * Quota-aware pacing: a token bucket per upstream (or per operation) set by
   * `requestsPerSecond`/`burst` and/or learned from the answers' `RateLimit-Policy`/`RateLimit`
   * and `X-RateLimit-*` headers, shared by the fleet with a `store`. An attempt waits for its
   * token within the deadline or fails fast with `UpstreamRateLimitedError`; a 429 pauses the
   * bucket, is not counted by the breaker and is not retried. `true` learns from headers only;
   * `false` (the default) for none. See {@link RateLimitOptions}.
   */
  rateLimit?: RateLimitOptions | boolean
  /**
   * Steps of your own in the client's pipeline, each at a named scope: `call` steps run once per
   * call that goes upstream (inside the cache, deadline and bulkhead, around the retries), in the
   * order given; `attempt` steps run around each network attempt, after the breakers, right
   * before the transport. Validated here: a bad `scope` or `name` throws `InvalidOptionError`.
   * See {@link UpstreamStep} and the README, "How a call runs". Default none.
   */
  steps?: readonly UpstreamStep[]
  /**
   * Hedged requests for the slow tail: an attempt unanswered after `delayMs` (or the operation's
   * live p95 with `'auto'`) gets a second copy, the first answer wins and the other is aborted;
   * hedges stay under `maxExtraLoad` of the operation's calls and inside the retry budget, and
   * none is sent while its circuit is not closed or when the deadline leaves no room. GET/HEAD,
   * and writes with an `idempotencyKey`. See {@link HedgeOptions}. Default off; `hedge: false`
   * per call.
   */
  hedge?: HedgeOptions | false
}

/** @internal Options after validation and defaults. */
export interface ResolvedOptions extends BulkheadOptions {
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
  breaker: ResolvedBreaker
  maxOperations: number
  cache: ResponseCacheOptions | false
  store: SharedStore | undefined
  maxBodyBytes: number
  headers: Record<string, string>
  clock: Clock
  telemetry: ResolvedTelemetryOptions
  /** Lower-cased header name, or undefined when propagation is off. */
  deadlineHeader: string | undefined
  adaptiveLimit: ResolvedAdaptiveLimit | false
  rateLimit: ResolvedRateLimit | false
  steps: ResolvedSteps
  hedge: ResolvedHedge | false
}

/** Default values of every optional setting, exported for documentation and tests. */
export const defaults = {
  connections: 50,
  timeoutMs: 5_000,
  deadlineMs: 15_000,
  maxBodyBytes: 10 * 1024 * 1024,
  retry: { ...retryDefaults, budget: retryBudgetDefaults },
  breaker: breakerDefaults,
  cache: cacheDefaults,
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
  'rateLimit',
  'telemetry',
  'steps',
  'hedge',
]

/**
 * @internal Validates `createUpstreamClient` options and fills in defaults, delegating each
 * policy's options to its module. Throws {@link InvalidOptionError} whose message quotes the
 * bad value.
 */
export function resolveOptions(options: UpstreamClientOptions): ResolvedOptions {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  checks.rejectUnknown('', options as object, TOP_LEVEL_KEYS)
  const url = parseBaseUrl(options.baseUrl)
  const o = options
  validateShared(o)
  const connections = checks.positiveInteger('connections', o.connections, defaults.connections)
  const bulkhead = resolveBulkhead(o.maxInFlight, o.maxWaiting)
  const cache = resolveCache(o.cache)
  return {
    origin: url.origin,
    basePath: url.pathname === '/' ? '' : url.pathname.replace(/\/$/, ''),
    name: o.name ?? url.origin,
    logger: o.logger,
    dispatcher: o.dispatcher,
    connections,
    timeoutMs: checks.timerDelay('timeoutMs', o.timeoutMs, defaults.timeoutMs),
    deadlineMs: checks.positiveNumber('deadlineMs', o.deadlineMs, defaults.deadlineMs, true),
    retry: resolveRetry(o.retry),
    breaker: resolveBreaker(o.breaker),
    maxOperations: checks.positiveInteger('maxOperations', o.maxOperations, defaults.maxOperations),
    ...bulkhead,
    cache,
    store: resolveStore(o.store, cache === false ? undefined : cache.ttlMs),
    maxBodyBytes: checks.positiveInteger('maxBodyBytes', o.maxBodyBytes, defaults.maxBodyBytes),
    headers: { ...o.headers },
    clock: o.clock ?? systemClock,
    deadlineHeader: resolveDeadlineHeader(o.deadlineHeader),
    // The learned limit lives under the operation's cap: `maxInFlight` when set, else the pool.
    adaptiveLimit: resolveAdaptiveLimit(
      o.adaptiveLimit,
      Number.isFinite(bulkhead.maxInFlight) ? bulkhead.maxInFlight : connections,
    ),
    telemetry: resolveTelemetryOptions(o.telemetry),
    rateLimit: resolveRateLimit(o.rateLimit),
    steps: resolveSteps(o.steps),
    hedge: resolveHedge(o.hedge),
  }
}

// Private helpers below.

/** Private: the options the client itself uses (not a policy's): name, logger, dispatcher, … */
function validateShared(o: UpstreamClientOptions): void {
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
}

function resolveDeadlineHeader(header: unknown): string | undefined {
  if (header === false) return undefined
  if (header === undefined) return defaults.deadlineHeader
  if (!isHeaderToken(header)) fail('deadlineHeader', 'a header name or false', header)
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
