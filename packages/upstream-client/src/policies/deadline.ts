import type { Call } from '../call.js'
import type { Clock } from '../clock.js'
import { UpstreamTimeoutError } from '../errors/timeout-error.js'

/**
 * @internal Overall-deadline policy: fixes the absolute time by which the whole call (attempts,
 * retry waits, ramp queueing) must have settled. The retry policy refuses waits that would end
 * past it, and the transport cuts each attempt to the time left.
 */
export function startDeadline(call: Call, clock: Clock, deadlineMs: number): void {
  call.deadlineAt = clock.now() + deadlineMs
}

/**
 * @internal The error of a call whose overall deadline passed, after `attempts` attempts.
 */
export function deadlineError(call: Call, attempts: number): UpstreamTimeoutError {
  return new UpstreamTimeoutError({
    method: call.method,
    url: call.url,
    attempts,
    timeoutMs: call.deadlineMs,
    phase: 'deadline',
  })
}

/**
 * @internal Per-attempt budget: the smaller of the attempt's own timeout and the time left before
 * the deadline. Zero or less means the deadline has already passed; a budget below
 * `call.timeoutMs` means the deadline, not the attempt timeout, is what limits this attempt.
 */
export function attemptBudget(call: Call, now: number): number {
  return Math.min(call.deadlineAt - now, call.timeoutMs)
}

/**
 * @internal Settles with `promise`, or with a deadline timeout when the call's own `deadlineMs`
 * runs out first (a coalesced follower, whose shared call runs on its starter's deadline).
 */
export function raceDeadline(
  promise: Promise<unknown>,
  call: Call,
  clock: Clock,
): Promise<unknown> {
  startDeadline(call, clock, call.deadlineMs)
  return new Promise((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(deadlineError(call, 0)), call.deadlineMs)
    promise.then(
      (value) => {
        clock.clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clock.clearTimeout(timer)
        reject(error)
      },
    )
  })
}

/**
 * @internal Delivers a success only before the call's deadline. The transport already refuses an
 * answer that completed late; this covers the policies' own work after it (breaker and limiter
 * bookkeeping, releasing queued calls) on a busy event loop. Stale answers are exempt: they are
 * served because the call failed, possibly at its deadline. So are writes without an
 * idempotency key, whose success must not look like a failure worth sending again.
 */
export function deliverByDeadline(
  promise: Promise<unknown>,
  call: Call,
  clock: Clock,
): Promise<unknown> {
  if (!call.retrySafe || call.deadlineMs === Number.POSITIVE_INFINITY) return promise
  return promise.then((value) => {
    if (call.outcome === 'stale' || clock.now() < call.deadlineAt) return value
    throw deadlineError(call, call.attempts)
  })
}
