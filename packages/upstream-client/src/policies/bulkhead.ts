import { AsyncResource } from 'node:async_hooks'
import { abortErrorOf } from '../abort.js'
import type { Call } from '../call.js'
import { checks, fail } from '../checks.js'
import type { Clock } from '../clock.js'
import { ConcurrencyLimitError } from '../errors/concurrency-limit-error.js'
import type { Step } from '../pipeline.js'
import { watchQueuedCall } from '../queue-wait.js'

/** @internal Resolved `maxInFlight` settings of a client. */
export interface BulkheadOptions {
  /** Calls of one operation allowed in flight at once. */
  maxInFlight: number
  /** Calls of one operation allowed to wait for a slot (within their deadline); 0 fails fast. */
  maxWaiting: number
}

/**
 * @internal Validates `maxInFlight` (`Infinity` when not set: no bulkhead) and `maxWaiting`
 * (which needs `maxInFlight`).
 */
export function resolveBulkhead(maxInFlight: unknown, maxWaiting: unknown): BulkheadOptions {
  const limit = checks.positiveInteger('maxInFlight', maxInFlight, Number.POSITIVE_INFINITY)
  const waiting = checks.nonNegativeInteger('maxWaiting', maxWaiting, 0)
  if (waiting > 0 && maxInFlight === undefined)
    fail('maxWaiting', '0 without `maxInFlight`', waiting)
  return { maxInFlight: limit, maxWaiting: waiting }
}

/**
 * @internal The bulkhead step (per call, after the deadline started, around the retries): a
 * call keeps its operation's slot during retry waits.
 */
export function bulkheadStep(bulkhead: BulkheadPolicy): Step<Call> {
  return { name: 'bulkhead', run: (call, next) => bulkhead.execute(call, () => next(call)) }
}

/** Hint given to a rejected call: slots free up as soon as the calls in flight settle. */
const BUSY_HINT_MS = 100

/** Private: a call waiting for a slot of its operation. */
interface Waiter {
  call: Call
  start: () => void
}

/** Private: the calls of one operation in flight and waiting. */
interface Slots {
  inFlight: number
  queue: Waiter[]
}

/**
 * @internal Bulkhead policy: at most `maxInFlight` calls of one operation (`call.operation`) run
 * at once, so slow calls of one operation cannot take every pooled connection from the others.
 * It wraps a whole call (retries included, deadline already started), so a call keeps its slot
 * during retry waits. A call over the limit waits in a queue of at most `maxWaiting` until a slot
 * frees, its deadline passes or its caller aborts; otherwise it is rejected at once with
 * {@link ConcurrencyLimitError}, which is not an upstream failure (no retry, no breaker count).
 *
 * Only operations with calls in flight or waiting have an entry, so the map stays as small as the
 * set of operations currently busy.
 */
export class BulkheadPolicy {
  readonly #options: BulkheadOptions
  readonly #clock: Clock
  readonly #name: string
  readonly #slots = new Map<string, Slots>()

  constructor(name: string, options: BulkheadOptions, clock: Clock) {
    this.#name = name
    this.#options = options
    this.#clock = clock
  }

  /** Calls waiting for a slot now, per operation (only operations with waiting calls). */
  waiting(): Array<[operation: string, waiting: number]> {
    const out: Array<[string, number]> = []
    for (const [operation, slots] of this.#slots) {
      if (slots.queue.length > 0) out.push([operation, slots.queue.length])
    }
    return out
  }

  /** Runs `fn` when the call's operation has a free slot, and frees the slot when it settles. */
  execute(call: Call, fn: () => Promise<unknown>): Promise<unknown> {
    let slots = this.#slots.get(call.operation)
    if (slots === undefined) {
      slots = { inFlight: 0, queue: [] }
      this.#slots.set(call.operation, slots)
    }
    if (slots.inFlight < this.#options.maxInFlight) return this.#run(call, slots, fn)
    if (slots.queue.length >= this.#options.maxWaiting) {
      return Promise.reject(this.#busy(call, undefined))
    }
    if (call.signal?.aborted) return Promise.reject(abortErrorOf(call, call.signal))
    const own = slots
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        call,
        // Started when another call frees the slot: bound here, so it runs (and logs, and is
        // traced) in its own caller's async context, not in that of the call that finished.
        start: AsyncResource.bind(() => {
          unwatch()
          resolve(this.#run(call, own, fn))
        }),
      }
      const unwatch = this.#watch(own, waiter, reject)
      own.queue.push(waiter)
    })
  }

  #run(call: Call, slots: Slots, fn: () => Promise<unknown>): Promise<unknown> {
    slots.inFlight++
    const release = () => {
      slots.inFlight--
      const next = slots.queue.shift()
      if (next !== undefined) next.start()
      else if (slots.inFlight === 0) this.#slots.delete(call.operation)
    }
    let promise: Promise<unknown>
    try {
      promise = fn()
    } catch (error) {
      promise = Promise.reject(error)
    }
    return promise.finally(release)
  }

  /** Takes a waiter out of the queue at its deadline or when its caller aborts. */
  #watch(slots: Slots, waiter: Waiter, reject: (error: unknown) => void): () => void {
    const { call } = waiter
    const unwatch = watchQueuedCall(
      call,
      this.#clock,
      0,
      () => this.#busy(call, 'waited for a free slot until its deadline'),
      (error) => {
        const index = slots.queue.indexOf(waiter)
        if (index === -1) return
        slots.queue.splice(index, 1)
        unwatch()
        if (slots.inFlight === 0 && slots.queue.length === 0) this.#slots.delete(call.operation)
        reject(error)
      },
    )
    return unwatch
  }

  #busy(call: Call, reason: string | undefined): ConcurrencyLimitError {
    return new ConcurrencyLimitError({
      method: call.method,
      url: call.url,
      breaker: this.#name,
      operation: call.operation,
      limit: this.#options.maxInFlight,
      retryAfterMs: BUSY_HINT_MS,
      reason,
    })
  }
}
