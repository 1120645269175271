import pRetry from 'p-retry'
import { onAbort } from '../../abort.js'
import type { Call } from '../../call.js'
import { checks, fail, MAX_TIMER_MS } from '../../checks.js'
import type { Clock } from '../../clock.js'
import { UpstreamAbortError } from '../../errors/abort-error.js'
import { isUpstreamError, type UpstreamError } from '../../errors/upstream-error.js'
import type { ClientHooks } from '../../hooks.js'
import type { Next, Step } from '../../pipeline.js'
import {
  type ResolvedRetryBudget,
  type RetryBudget,
  type RetryBudgetOptions,
  resolveRetryBudget,
  retryBudgetDefaults,
} from './budget.js'

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

/** @internal Retry options after validation and defaults. */
export type ResolvedRetry = Required<Omit<RetryOptions, 'budget'>> & {
  budget: ResolvedRetryBudget | false
}

/** @internal Defaults of `retry` (the budget's are {@link retryBudgetDefaults}). */
export const retryDefaults = {
  retries: 2,
  minDelayMs: 100,
  maxDelayMs: 2_000,
  factor: 2,
  jitter: true,
} as const

const KEYS = ['retries', 'minDelayMs', 'maxDelayMs', 'factor', 'jitter', 'budget']

/**
 * @internal Validates `retry` and fills in defaults; `false` turns retries off. Throws
 * `InvalidOptionError` naming the option and quoting the value.
 */
export function resolveRetry(retry: RetryOptions | false | undefined): ResolvedRetry | false {
  if (retry === false) return false
  if (retry === undefined) return { ...retryDefaults, budget: { ...retryBudgetDefaults } }
  if (typeof retry !== 'object' || retry === null) fail('retry', 'an object or false', retry)
  checks.rejectUnknown('retry.', retry, KEYS)
  const d = retryDefaults
  const retries = checks.nonNegativeInteger('retry.retries', retry.retries, d.retries)
  const minDelayMs = checks.nonNegativeNumber('retry.minDelayMs', retry.minDelayMs, d.minDelayMs)
  const maxDelayMs = checks.nonNegativeNumber(
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
  const budget = resolveRetryBudget(retry.budget)
  return { retries, minDelayMs, maxDelayMs, factor, jitter, budget }
}

/**
 * @internal The retry step (per call), the innermost call step: each `next(call)` is one
 * attempt, run through the attempt steps (see `toAttempts`).
 */
export function retryStep(policy: RetryPolicy): Step<Call> {
  return { name: 'retry', run: (call, next) => policy.execute(call, next) }
}

/**
 * @internal Retry policy.
 *
 * The first attempt runs directly and p-retry is only entered after a retryable failure. Wrapping
 * every call in `pRetry` cost about 30 % of throughput even when nothing failed (its async loop,
 * option cloning and validation run per call); a healthy upstream now pays for one `.then`.
 *
 * p-retry then counts attempts and stops after `retries`. Its own delays are switched off
 * (`minTimeout: 0`): the wait is computed and slept here, in `onFailedAttempt`, so that it can
 * honour `Retry-After`, be checked against the deadline before it starts, run on the injected
 * clock, and be cut short by the caller's signal.
 */
export class RetryPolicy {
  readonly #options: ResolvedRetry
  readonly #clock: Clock
  readonly #hooks: ClientHooks
  readonly #budget: RetryBudget | undefined

  constructor(
    options: ResolvedRetry,
    clock: Clock,
    hooks: ClientHooks,
    budget: RetryBudget | undefined,
  ) {
    this.#options = options
    this.#clock = clock
    this.#hooks = hooks
    this.#budget = budget
  }

  /** Runs the call's first attempt (`next(call)`), and retries it while allowed. */
  execute(call: Call, next: Next<Call>): Promise<unknown> {
    if (this.#options.retries === 0) return next(call)
    return next(call).catch((error: unknown) => this.#retryAfterFirstFailure(call, next, error))
  }

  async #retryAfterFirstFailure(call: Call, next: Next<Call>, error: unknown): Promise<unknown> {
    await this.#waitBeforeRetry(call, error, 1)
    return pRetry(() => next(call), {
      retries: this.#options.retries - 1,
      minTimeout: 0,
      maxTimeout: 0,
      randomize: false,
      onFailedAttempt: async ({ error, attemptNumber, retriesLeft }) => {
        // With no retries left p-retry rethrows `error` itself right after this returns.
        if (retriesLeft > 0) await this.#waitBeforeRetry(call, error, attemptNumber + 1)
      },
    })
  }

  /**
   * Throws `error` when it must not be retried or when the wait would overrun the deadline;
   * otherwise reports the retry and sleeps. `failed` is the number of the attempt that failed.
   */
  async #waitBeforeRetry(call: Call, error: unknown, failed: number): Promise<void> {
    if (!isUpstreamError(error) || !isRetryable(error, call)) throw error
    const delayMs = error.retryAfterMs ?? this.#backoff(failed)
    // A retry that could not even start before the deadline would only turn this error into a
    // less informative timeout, so the caller gets the real error now.
    if (this.#clock.now() + delayMs >= call.deadlineAt || delayMs > MAX_TIMER_MS) throw error
    // Asked last, so that only a retry that would really happen is taken from the budget.
    if (this.#budget !== undefined) this.#spendBudget(this.#budget, call, error, failed)
    const hooks = this.#hooks
    if (hooks.retry.active) {
      hooks.retry.emit({
        method: call.method,
        url: call.url,
        path: call.path,
        operation: call.operation,
        attempt: failed,
        delayMs,
        error,
        requestId: call.requestId,
        call,
      })
    }
    await sleep(this.#clock, delayMs, call, failed)
  }

  /** Takes the retry from the operation's budget, or reports the refusal and rethrows `error`. */
  #spendBudget(budget: RetryBudget, call: Call, error: UpstreamError, failed: number): void {
    const operation = call.operation
    if (budget.tryRetry(operation)) return
    const hooks = this.#hooks
    if (hooks.budgetExhausted.active) {
      hooks.budgetExhausted.emit({
        operation,
        method: call.method,
        url: call.url,
        path: call.path,
        attempt: failed,
        error,
        ...budget.snapshot(operation),
        requestId: call.requestId,
      })
    }
    throw error
  }

  #backoff(failed: number): number {
    const { minDelayMs, maxDelayMs, factor, jitter } = this.#options
    const delay = Math.min(maxDelayMs, minDelayMs * factor ** (failed - 1))
    return jitter ? Math.round(delay * (0.5 + Math.random() / 2)) : delay
  }
}

/**
 * @internal Whether a failed attempt may be repeated.
 *
 * Only transient failures qualify: network errors, timeouts, 5xx and 429; never another 4xx, an
 * open circuit, a bad body or the caller's abort. For writes without an idempotency key
 * (`call.retrySafe` false) only failures that prove the upstream did not process the request
 * qualify: the connection was never established, a 503, or a 429 with `Retry-After`. A timeout or
 * reset could come after the body was written, so it is not retried without a key.
 */
export function isRetryable(error: UpstreamError, call: Call): boolean {
  switch (error.code) {
    case 'UPSTREAM_TIMEOUT':
      return call.retrySafe
    case 'UPSTREAM_NETWORK':
      return call.retrySafe || (error as { connectFailed?: boolean }).connectFailed === true
    case 'UPSTREAM_HTTP_STATUS': {
      const status = error.status ?? 0
      if (status === 503) return true
      if (status === 429) return call.retrySafe || error.retryAfterMs !== undefined
      return status >= 500 && call.retrySafe
    }
    default:
      return false
  }
}

/** Private: sleeps on the injected clock; the caller's signal ends the wait with an abort error. */
function sleep(clock: Clock, ms: number, call: Call, attempts: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const signal = call.signal
    let unsubscribe: (() => void) | undefined
    const timer = clock.setTimeout(() => {
      unsubscribe?.()
      resolve()
    }, ms)
    if (signal === undefined) return
    const abort = () => {
      clock.clearTimeout(timer)
      reject(
        new UpstreamAbortError({
          method: call.method,
          url: call.url,
          attempts,
          cause: signal.reason,
        }),
      )
    }
    if (signal.aborted) return abort()
    unsubscribe = onAbort(signal, abort)
  })
}
