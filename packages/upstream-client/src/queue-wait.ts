import { AsyncResource } from 'node:async_hooks'
import { onAbort } from './abort.js'
import type { Call } from './call.js'
import { MAX_TIMER_MS } from './checks.js'
import type { Clock } from './clock.js'
import { UpstreamAbortError } from './errors/abort-error.js'
import type { UpstreamError } from './errors/upstream-error.js'
import type { Attempt } from './pipeline.js'

/**
 * @internal The rest of the attempt pipeline, as the per-attempt policies run it: a step passes
 * its `next` as is, so the queue can start the attempt when its turn comes.
 */
export type AttemptFn = (attempt: Attempt) => Promise<unknown>

/**
 * @internal Watches a call waiting in one of the client's queues (the bulkhead's slots, the
 * adaptive limit, the breaker's recovery ramp): `leave` is called with `deadlineError()` when the
 * call's deadline passes, or with an `UpstreamAbortError` (`attempts`: those already made) when
 * its caller's signal fires, whichever comes first, so that a waiting call never outlives either.
 * Returns the function that stops watching, for a wait that ended otherwise (it got its turn).
 */
export function watchQueuedCall(
  call: Call,
  clock: Clock,
  attempts: number,
  deadlineError: () => unknown,
  leave: (error: unknown) => void,
): () => void {
  const waitMs = call.deadlineAt - clock.now()
  const timer =
    waitMs > MAX_TIMER_MS
      ? undefined
      : clock.setTimeout(() => leave(deadlineError()), Math.max(0, waitMs))
  const signal = call.signal
  const unsubscribe =
    signal === undefined
      ? undefined
      : onAbort(signal, () =>
          leave(
            new UpstreamAbortError({
              method: call.method,
              url: call.url,
              attempts,
              cause: signal.reason,
            }),
          ),
        )
  return () => {
    if (timer !== undefined) clock.clearTimeout(timer)
    unsubscribe?.()
  }
}

/**
 * @internal An attempt waiting in a queue (the adaptive limit's, the recovery ramp's) until it may
 * run `run`; `resolve` hands it the attempt's promise, `reject` refuses it.
 */
export interface QueuedAttempt {
  call: Call
  attempt: Attempt
  run: AttemptFn
  resolve: (value: Promise<unknown>) => void
  reject: (error: UpstreamError) => void
  /** Cancels the deadline timer and abort subscription that let it leave the queue. */
  unwatch: () => void
  /**
   * Runs `fn` in the async context of the caller that queued: it is let in when another attempt
   * settles, and must not run (be traced, log) in that attempt's context.
   */
  scope: <T>(fn: () => T) => T
}

/** @internal Runs `fn`; bound with `AsyncResource.bind`, in the context it was bound in. */
export function runInScope<T>(fn: () => T): T {
  return fn()
}

/**
 * @internal Queues an attempt: it waits in `queue` until its owner takes it out and resolves it,
 * or leaves at its deadline (rejected with `deadlineError()`) or when its caller aborts.
 */
export function queueAttempt(
  queue: QueuedAttempt[],
  call: Call,
  attempt: Attempt,
  run: AttemptFn,
  clock: Clock,
  deadlineError: () => UpstreamError,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const waiter: QueuedAttempt = {
      call,
      attempt,
      run,
      resolve,
      reject,
      unwatch: noop,
      scope: AsyncResource.bind(runInScope),
    }
    queue.push(waiter)
    waiter.unwatch = watchQueuedCall(call, clock, attempt.number - 1, deadlineError, (error) => {
      const index = queue.indexOf(waiter)
      if (index === -1) return
      queue.splice(index, 1)
      waiter.unwatch()
      reject(error as UpstreamError)
    })
  })
}

/** Private: the `unwatch` of a waiter before its watch starts. */
function noop(): void {}
