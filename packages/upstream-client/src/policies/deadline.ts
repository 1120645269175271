import type { Call } from '../call.js'
import type { Clock } from '../clock.js'

/**
 * @internal Overall-deadline policy: fixes the absolute time by which the whole call (attempts,
 * retry waits, ramp queueing) must have settled. The retry policy refuses waits that would end
 * past it, and the transport cuts each attempt to the time left.
 */
export function startDeadline(call: Call, clock: Clock, deadlineMs: number): void {
  call.deadlineAt = clock.now() + deadlineMs
}

/**
 * @internal Per-attempt budget: the smaller of the attempt's own timeout and the time left before
 * the deadline. Zero or less means the deadline has already passed; a budget below
 * `call.timeoutMs` means the deadline, not the attempt timeout, is what limits this attempt.
 */
export function attemptBudget(call: Call, now: number): number {
  return Math.min(call.deadlineAt - now, call.timeoutMs)
}
