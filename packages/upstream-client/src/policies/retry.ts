import pRetry from 'p-retry'
import { onAbort } from '../abort.js'
import type { Call } from '../call.js'
import type { Clock } from '../clock.js'
import { UpstreamAbortError } from '../errors/abort-error.js'
import { isUpstreamError, type UpstreamError } from '../errors/upstream-error.js'
import type { ClientHooks } from '../hooks.js'
import type { ResolvedRetry } from '../options.js'
import type { RetryBudget } from './retry-budget.js'

/** Largest delay a timer accepts; a longer Retry-After without a deadline is not waited for. */
const MAX_TIMER_MS = 2_147_483_647

/** @internal One attempt of a call; `attempt` starts at 1. */
export type AttemptFn = (call: Call, attempt: number) => Promise<unknown>

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

  execute(call: Call, attempt: AttemptFn): Promise<unknown> {
    if (this.#options.retries === 0) return attempt(call, 1)
    return attempt(call, 1).catch((error: unknown) =>
      this.#retryAfterFirstFailure(call, attempt, error),
    )
  }

  async #retryAfterFirstFailure(call: Call, attempt: AttemptFn, error: unknown): Promise<unknown> {
    await this.#waitBeforeRetry(call, error, 1)
    return pRetry((n) => attempt(call, n + 1), {
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
