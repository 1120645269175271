import { type Call, deadlineError, startDeadline } from '../call.js'
import type { Clock } from '../clock.js'
import type { Step } from '../pipeline.js'

/**
 * @internal The overall-deadline step (per call): fixes the absolute time by which the whole
 * call (attempts, retry waits, queueing) must have settled. The retry step refuses waits that
 * would end past it, the queues let a waiting call go at it, and the transport cuts each attempt
 * to the time left. For a cacheable GET it runs inside the coalesced work and before the shared
 * tier, so a wait for another replica's fetch spends the same deadline as the fetch after it.
 */
export function deadlineStep(clock: Clock): Step<Call> {
  return {
    name: 'deadline',
    run: (call, next) => {
      startDeadline(call, clock, call.deadlineMs)
      return next(call)
    },
  }
}

/**
 * @internal The delivery step (per call, right inside the fresh-cache step, so a cache hit
 * skips it): a success reaches the caller only before the call's deadline. The transport already refuses an answer that completed late; this covers
 * the policies' own work after it (breaker and limiter bookkeeping, releasing queued calls) on a
 * busy event loop. Stale answers are exempt: they are served because the call failed, possibly
 * at its deadline. So are writes
 * without an idempotency key, whose success must not look like a failure worth sending again.
 * Outside coalescing, so each caller of a coalesced GET is held to its own deadline.
 */
export function deliveryStep(clock: Clock): Step<Call> {
  return {
    name: 'deliver-by-deadline',
    run: (call, next) => {
      if (!call.retrySafe || call.deadlineMs === Number.POSITIVE_INFINITY) return next(call)
      return next(call).then((value) => {
        if (call.outcome === 'stale' || clock.now() < call.deadlineAt) return value
        throw deadlineError(call, call.attempts)
      })
    },
  }
}
