import { abortErrorOf } from '../abort.js'
import { checks, fail, MAX_TIMER_MS } from '../checks.js'
import type { Clock } from '../clock.js'
import { UpstreamRateLimitedError } from '../errors/rate-limited-error.js'
import { isUpstreamError } from '../errors/upstream-error.js'
import { OperationMap } from '../operation-map.js'
import type { Attempt, Next, Step } from '../pipeline.js'
import {
  isRateLimitStore,
  type RateLimitStore,
  type RateLimitTakeOptions,
  type RateLimitTakeResult,
} from '../rate-limit-store.js'
import { type LearnedQuota, parseQuotaHeaders } from './rate-limit-headers.js'

/**
 * Options of the client's `rateLimit` policy: pacing ahead of the upstream's quota. Give a rate
 * (`requestsPerSecond`), let the client learn it from the answers' `RateLimit-Policy` /
 * `X-RateLimit-*` headers (`learn`, on by default), or both (the lower rate wins).
 */
export interface RateLimitOptions {
  /** Requests per second the upstream allows this client (or the fleet, with `store`). Default: learned. */
  requestsPerSecond?: number
  /**
   * Most requests sent at once after a quiet spell (the bucket's size). Default: a tenth of a
   * second's worth of the rate, at least 1: a small burst keeps the client behind the upstream's
   * own bucket, whose size it does not know.
   */
  burst?: number
  /** `upstream` (default): one bucket for the client; `operation`: one per operation key. */
  scope?: 'upstream' | 'operation'
  /** Learn the rate and a spent quota from the answers' headers. Default true. */
  learn?: boolean
  /**
   * A bucket shared by every replica (`createRedisRateLimitStore` in `@userevents/redis`), so the
   * fleet shares one quota. When it cannot answer, each replica paces on its local bucket at
   * `requestsPerSecond / replicas`.
   */
  store?: RateLimitStore
  /**
   * How many replicas share the quota: the local bucket (no store, or the store is down) paces
   * at `1 / replicas` of the rate, so the fleet stays under it without coordination. Default 1.
   */
  replicas?: number
  /** The longest an attempt waits for a token (within the call's deadline), in ms. Default: the deadline. */
  maxWaitMs?: number
}

/** @internal Resolved `rateLimit` options. */
export interface ResolvedRateLimit {
  requestsPerSecond: number | undefined
  burst: number | undefined
  scope: 'upstream' | 'operation'
  learn: boolean
  store: RateLimitStore | undefined
  replicas: number
  maxWaitMs: number
}

const RATE_LIMIT_KEYS = [
  'requestsPerSecond',
  'burst',
  'scope',
  'learn',
  'store',
  'replicas',
  'maxWaitMs',
] as const

/** Wait when a 429 carries no `Retry-After` and no header said when the quota resets. */
const DEFAULT_PAUSE_MS = 1000

/** @internal Validates `rateLimit` (`true`: learn from headers only; `false`/undefined: off). */
export function resolveRateLimit(value: unknown): ResolvedRateLimit | false {
  if (value === undefined || value === false) return false
  const o = (value === true ? {} : value) as RateLimitOptions
  if (typeof o !== 'object' || o === null) fail('rateLimit', 'an object or a boolean', value)
  checks.rejectUnknown('rateLimit.', o, RATE_LIMIT_KEYS)
  const rate = checks.positiveNumber('rateLimit.requestsPerSecond', o.requestsPerSecond, 0)
  if (o.scope !== undefined && o.scope !== 'upstream' && o.scope !== 'operation')
    fail('rateLimit.scope', "'upstream' or 'operation'", o.scope)
  if (o.learn !== undefined && typeof o.learn !== 'boolean')
    fail('rateLimit.learn', 'a boolean', o.learn)
  if (o.store !== undefined && !isRateLimitStore(o.store))
    fail('rateLimit.store', 'a RateLimitStore (createRedisRateLimitStore)', o.store)
  const learn = o.learn ?? true
  if (rate === 0 && !learn)
    fail('rateLimit.requestsPerSecond', 'set when `rateLimit.learn` is false', o.requestsPerSecond)
  return {
    requestsPerSecond: rate === 0 ? undefined : rate,
    burst:
      o.burst === undefined ? undefined : checks.positiveInteger('rateLimit.burst', o.burst, 1),
    scope: o.scope ?? 'upstream',
    learn,
    store: o.store,
    replicas: checks.positiveInteger('rateLimit.replicas', o.replicas, 1),
    // A wait is one timer: never longer than a timer can wait, even with no deadline.
    maxWaitMs: checks.timerMs('rateLimit.maxWaitMs', o.maxWaitMs, MAX_TIMER_MS),
  }
}

/**
 * @internal The rate-limit step, per attempt and inside the breakers (client.ts):
 *
 * - per attempt, so a retry pays a token like a first attempt (a retry spends the quota too);
 * - inside the breakers, so they see a 429 as this policy's {@link UpstreamRateLimitedError}
 *   (not a failure: a quota is not an outage) and a refusal never reaches the network. A wait
 *   for a token runs inside the adaptive limit's slot, on purpose: when the quota is spent,
 *   fewer attempts in flight is what the upstream wants.
 */
export function rateLimitStep(policy: RateLimitPolicy): Step<Attempt> {
  return { name: 'rate-limit', run: (attempt, next) => policy.execute(attempt, next) }
}

/**
 * @internal Token-bucket pacing ahead of the upstream's 429. Each bucket (the client, or each
 * operation) takes a token from the shared `store` when there is one and it answers, else from
 * its local bucket at `1 / replicas` of the rate. An attempt waits for its token within its
 * deadline (and `maxWaitMs`) or fails fast with {@link UpstreamRateLimitedError}; a 429 (or a
 * `RateLimit` header saying `r=0`) pauses the bucket, the shared one too, until the reset.
 */
export class RateLimitPolicy {
  readonly #name: string
  readonly #options: ResolvedRateLimit
  readonly #clock: Clock
  readonly #buckets: OperationMap<LocalBucket>

  constructor(name: string, options: ResolvedRateLimit, clock: Clock, maxOperations: number) {
    this.#name = name
    this.#options = options
    this.#clock = clock
    this.#buckets = new OperationMap(maxOperations, (key) => new LocalBucket(key))
  }

  /** Runs one attempt: a token first, then the attempt, then what its answer said about the quota. */
  async execute(attempt: Attempt, next: Next<Attempt>): Promise<unknown> {
    const call = attempt.call
    const bucket = this.#buckets.get(
      this.#options.scope === 'operation' ? `${this.#name}:${call.operation}` : this.#name,
    )
    const now = this.#clock.now()
    const maxWaitMs = Math.max(0, Math.min(this.#options.maxWaitMs, call.deadlineAt - now))
    const taken = await this.#take(bucket, maxWaitMs)
    if (!taken.granted) throw refused(attempt, bucket.key, taken.waitMs)
    if (taken.waitMs > 0) await this.#sleep(attempt, taken.waitMs)
    // A 429 or `r=0` seen while this attempt slept paused the bucket: wait for the reset too.
    const pausedMs = bucket.pausedUntil - this.#clock.now()
    if (pausedMs > 0) {
      if (pausedMs > call.deadlineAt - this.#clock.now())
        throw refused(attempt, bucket.key, pausedMs)
      await this.#sleep(attempt, pausedMs)
    }
    try {
      const value = await next(attempt)
      this.#learn(bucket, attempt, undefined)
      return value
    } catch (error) {
      const pausedMs = this.#learn(bucket, attempt, error)
      if (attempt.status !== 429 || pausedMs === undefined) throw error
      throw new UpstreamRateLimitedError({
        method: call.method,
        url: call.url,
        attempts: attempt.number,
        bucket: bucket.key,
        status: 429,
        retryAfterMs: pausedMs,
        cause: error,
      })
    }
  }

  /** The bucket's shape now: the configured rate, the learned one, or the lower of the two. */
  #shape(bucket: LocalBucket): { ratePerSecond: number; burst: number } | undefined {
    const configured = this.#options.requestsPerSecond
    const learned = bucket.learnedRate
    const rate =
      configured === undefined
        ? learned
        : learned === undefined
          ? configured
          : Math.min(configured, learned)
    if (rate === undefined) return undefined
    return { ratePerSecond: rate, burst: this.#options.burst ?? Math.max(1, Math.ceil(rate / 10)) }
  }

  async #take(bucket: LocalBucket, maxWaitMs: number): Promise<RateLimitTakeResult> {
    const shape = this.#shape(bucket)
    const store = this.#options.store
    if (store !== undefined && shape !== undefined) {
      // A store that is down degrades to the local bucket, the same path as no store at all.
      const shared = await store.take(bucket.key, { ...shape, maxWaitMs }).catch(() => undefined)
      if (shared !== undefined) return shared
    }
    const local =
      shape === undefined
        ? undefined
        : { ratePerSecond: shape.ratePerSecond / this.#options.replicas, burst: shape.burst }
    return bucket.take(local, this.#clock.now(), maxWaitMs)
  }

  /**
   * Reads the answer's quota headers into the bucket; on a 429 (or `r=0`) pauses it, the shared
   * bucket too, and returns the pause in ms (undefined when the answer did not pause it).
   */
  #learn(bucket: LocalBucket, attempt: Attempt, error: unknown): number | undefined {
    const now = this.#clock.now()
    const quota: LearnedQuota | undefined = this.#options.learn
      ? parseQuotaHeaders(attempt.responseHeaders, now)
      : undefined
    if (quota?.ratePerSecond !== undefined) bucket.learnedRate = quota.ratePerSecond
    let pauseMs: number | undefined
    if (attempt.status === 429) {
      const retryAfter = isUpstreamError(error) ? error.retryAfterMs : undefined
      pauseMs = retryAfter ?? quota?.resetMs ?? DEFAULT_PAUSE_MS
    } else if (quota?.remaining === 0 && quota.resetMs !== undefined && quota.resetMs > 0) {
      pauseMs = quota.resetMs
    }
    if (pauseMs === undefined) {
      if (quota?.remaining !== undefined) bucket.capTokens(quota.remaining)
      return undefined
    }
    pauseMs = Math.max(1, Math.ceil(pauseMs))
    bucket.pause(pauseMs, now)
    const shape = this.#shape(bucket)
    const store = this.#options.store
    if (store !== undefined && shape !== undefined) {
      const options: RateLimitTakeOptions = { ...shape, maxWaitMs: 0 }
      store.pause(bucket.key, pauseMs, options).catch(() => undefined)
    }
    return pauseMs
  }

  /** Waits `ms` on the injected clock; the attempt's abort ends the wait with an abort error. */
  #sleep(attempt: Attempt, ms: number): Promise<void> {
    const signal = attempt.signal
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) {
        reject(abortErrorOf(attempt.call, signal))
        return
      }
      const onAbort = () => {
        this.#clock.clearTimeout(timer)
        reject(abortErrorOf(attempt.call, signal))
      }
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort)
        resolve()
      }, ms)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/** Private: the error of an attempt refused before the network: no token within its deadline. */
function refused(attempt: Attempt, bucket: string, waitMs: number): UpstreamRateLimitedError {
  return new UpstreamRateLimitedError({
    method: attempt.call.method,
    url: attempt.call.url,
    attempts: attempt.number - 1,
    bucket,
    retryAfterMs: Math.ceil(waitMs),
  })
}

/**
 * @internal One local token bucket on the injected clock, reservation style: a token is taken
 * as soon as the wait for it is accepted (the count may go negative), so waiters queue in order
 * instead of waking together. `pausedUntil` holds every token back until a reset.
 *
 * A dozen lines, written here rather than taken from a library: `limiter`, `bottleneck` and
 * `rate-limiter-flexible` all read `Date.now()` and their own timers (no injectable clock), and
 * none reserves a token for a bounded wait.
 */
class LocalBucket {
  readonly key: string
  learnedRate: number | undefined
  #tokens = Number.NaN
  #updatedAt = 0
  #pausedUntil = 0
  /** The rate of the last take, to bring the count up to date in {@link pause}. */
  #rate = 0

  constructor(key: string) {
    this.key = key
  }

  /** Until when (clock ms) a 429 or a spent window holds every token back. */
  get pausedUntil(): number {
    return this.#pausedUntil
  }

  take(
    shape: { ratePerSecond: number; burst: number } | undefined,
    now: number,
    maxWaitMs: number,
  ): RateLimitTakeResult {
    const readyAt = Math.max(now, this.#pausedUntil)
    if (shape === undefined) {
      const waitMs = readyAt - now
      return { granted: waitMs <= maxWaitMs, waitMs }
    }
    const { ratePerSecond, burst } = shape
    this.#rate = ratePerSecond
    if (Number.isNaN(this.#tokens)) {
      this.#tokens = burst
      this.#updatedAt = Math.max(this.#updatedAt, now)
    } else this.#refill(now, burst)
    // Refill starts at `#updatedAt`, which a pause may have set in the future.
    const base = this.#updatedAt - now
    const fromTokens = base + (this.#tokens >= 1 ? 0 : ((1 - this.#tokens) * 1000) / ratePerSecond)
    const waitMs = Math.max(readyAt - now, fromTokens)
    if (waitMs > maxWaitMs) return { granted: false, waitMs }
    this.#tokens -= 1
    return { granted: true, waitMs }
  }

  /**
   * Holds every token back for `ms`: the window is spent. At the reset one token is ready (the
   * upstream's window is fresh) and the rest refill at the rate, behind any reservations.
   */
  pause(ms: number, now: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, now + ms)
    if (!Number.isNaN(this.#tokens)) {
      this.#refill(now, Number.POSITIVE_INFINITY)
      // Reservations already made stay ahead of the next caller (the count stays below 1).
      this.#tokens = Math.min(this.#tokens, 0) + 1
      this.#updatedAt = Math.max(this.#updatedAt, this.#pausedUntil)
    }
  }

  /** Private: adds the tokens earned since `#updatedAt` (never into the future), up to `burst`. */
  #refill(now: number, burst: number): void {
    if (now > this.#updatedAt) {
      this.#tokens = Math.min(burst, this.#tokens + ((now - this.#updatedAt) * this.#rate) / 1000)
      this.#updatedAt = now
    }
  }

  /** The upstream said only `remaining` units are left: never believe in more. */
  capTokens(remaining: number): void {
    if (!Number.isNaN(this.#tokens)) this.#tokens = Math.min(this.#tokens, remaining)
  }
}
