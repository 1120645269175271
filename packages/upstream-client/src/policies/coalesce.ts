import { abortErrorOf, onAbort } from '../abort.js'
import { type Call, deadlineError, startDeadline } from '../call.js'
import type { Clock } from '../clock.js'
import type { ClientHooks } from '../hooks.js'
import type { Step } from '../pipeline.js'

/**
 * @internal In-flight coalescing policy: concurrent identical GETs share one upstream call. The
 * shared promise is dropped as soon as it settles, so later calls go to the cache or the
 * upstream again; the write-back step stores a success in the cache before this happens, which
 * leaves no gap where a new call would miss both.
 */
export class Coalescer {
  readonly #inFlight = new Map<string, { promise: Promise<unknown>; call: Call }>()

  /** Whether a call for `key` is in flight, so that the next `run` for it joins that call. */
  has(key: string): boolean {
    return this.#inFlight.has(key)
  }

  /**
   * Returns the work already running for `key` and the call that started it, or starts
   * `start()` for `call` and shares it.
   */
  run(
    key: string,
    call: Call,
    start: () => Promise<unknown>,
  ): { promise: Promise<unknown>; call: Call } {
    const running = this.#inFlight.get(key)
    if (running !== undefined) return running
    const promise = start().finally(() => {
      this.#inFlight.delete(key)
    })
    const shared = { promise, call }
    this.#inFlight.set(key, shared)
    return shared
  }
}

/**
 * @internal The coalescing step (per call): a cacheable GET (`call.cacheKey` set) joins an
 * identical one in flight, or starts the shared work (the rest of the pipeline) for it.
 *
 * The shared work must not be cancelled by whichever caller happened to start it, so it runs
 * without a signal; each caller's own signal only releases that caller. A follower keeps its own
 * deadline: the call it joined may have been started by a caller with a longer one.
 */
export function coalesceStep(coalescer: Coalescer, clock: Clock, hooks: ClientHooks): Step<Call> {
  return {
    name: 'coalesce',
    run: (call, next) => {
      const key = call.cacheKey
      if (key === undefined) return next(call)
      const follower = coalescer.has(key)
      if (follower) {
        call.outcome = 'coalesced'
        if (hooks.coalesced.active) hooks.coalesced.emit({ key, call })
      }
      const signal = call.signal
      call.signal = undefined
      const shared = coalescer.run(key, call, () => next(call))
      const own = follower
        ? raceDeadline(withLeaderHeaders(shared.promise, shared.call, call), call, clock)
        : shared.promise
      return signal === undefined ? own : raceSignal(own, signal, call)
    },
  }
}

/**
 * Private: a follower's answer carries the response headers its leader received, so that its
 * `onHeaders` (the aggregator's `no-store` check) sees the answer's real caching headers.
 */
function withLeaderHeaders(promise: Promise<unknown>, leader: Call, call: Call): Promise<unknown> {
  return promise.then((value) => {
    call.responseHeaders = leader.responseHeaders
    return value
  })
}

/**
 * Private: settles with `promise`, or with a deadline timeout when the call's own `deadlineMs`
 * runs out first (a coalesced follower, whose shared call runs on its starter's deadline).
 */
function raceDeadline(promise: Promise<unknown>, call: Call, clock: Clock): Promise<unknown> {
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

/** Private: settles with `promise`, or with an abort error as soon as `signal` fires. */
function raceSignal(promise: Promise<unknown>, signal: AbortSignal, call: Call): Promise<unknown> {
  if (signal.aborted) return Promise.reject(abortErrorOf(call, signal))
  return new Promise((resolve, reject) => {
    const unsubscribe = onAbort(signal, () => reject(abortErrorOf(call, signal)))
    promise.then(
      (value) => {
        unsubscribe()
        resolve(value)
      },
      (error: unknown) => {
        unsubscribe()
        reject(error)
      },
    )
  })
}
