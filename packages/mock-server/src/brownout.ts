import { checks } from './checks.js'
import { InvalidMockOptionError } from './errors/InvalidMockOptionError.js'

/**
 * Settings of the `brownout` mode: the upstream is slower, fails part of the time and serves only
 * `capacity` requests at once, so that its latency grows with the load it is offered.
 */
export interface BrownoutOptions {
  /** Each route's latency is multiplied by this while browned out. Default `4`. */
  latencyFactor?: number
  /** Share of requests (every data route) answered `503` after their service time. Default `0.3`. */
  errorRate?: number
  /**
   * Requests served at once; later ones wait in a FIFO queue, so latency grows with the load.
   * `Infinity` disables the queue. Default `10`.
   */
  capacity?: number
}

/** Brownout settings with every default applied. */
export type ResolvedBrownout = Required<BrownoutOptions>

/** The default brownout settings. */
export const BROWNOUT_DEFAULTS: Readonly<ResolvedBrownout> = Object.freeze({
  latencyFactor: 4,
  errorRate: 0.3,
  capacity: 10,
})

/**
 * What the capacity queue did since the last reset. A request that waited longer than the
 * `x-request-timeout-ms` its caller sent is `expired`: answered `504` when its turn came, without
 * any service time. `abandoned` counts requests that were fully served although their client had
 * already gone away: work done for nobody.
 */
export interface CapacityStats {
  /** The current `capacity` (`Infinity` when unbounded). */
  capacity: number
  /** Requests being served now. */
  serving: number
  /** Requests waiting for a slot now. */
  queued: number
  /** Most requests waiting at once since the last reset. */
  maxQueued: number
  /** Requests that got a slot and were served (a `503` of the error rate included). */
  served: number
  /** Served requests whose client had gone away before the answer. */
  abandoned: number
  /** Requests answered `504` at their turn because their propagated deadline had passed. */
  expired: number
}

/** Validates brownout settings on top of `base`; throws `InvalidMockOptionError` quoting the value. */
export function resolveBrownout(
  option: string,
  given: unknown,
  base: ResolvedBrownout = BROWNOUT_DEFAULTS,
): ResolvedBrownout {
  if (given === undefined) return { ...base }
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    throw new InvalidMockOptionError(option, 'an object', given)
  }
  checks.rejectUnknown(`${option}.`, given, ['latencyFactor', 'errorRate', 'capacity'])
  const g = given as BrownoutOptions
  const latencyFactor = g.latencyFactor ?? base.latencyFactor
  if (typeof latencyFactor !== 'number' || !Number.isFinite(latencyFactor) || latencyFactor < 1) {
    throw new InvalidMockOptionError(
      `${option}.latencyFactor`,
      'a finite number >= 1',
      latencyFactor,
    )
  }
  const errorRate = g.errorRate ?? base.errorRate
  if (typeof errorRate !== 'number' || !(errorRate >= 0 && errorRate <= 1)) {
    throw new InvalidMockOptionError(`${option}.errorRate`, 'a number from 0 to 1', errorRate)
  }
  const capacity = g.capacity ?? base.capacity
  if (
    typeof capacity !== 'number' ||
    !(capacity === Number.POSITIVE_INFINITY || (Number.isSafeInteger(capacity) && capacity > 0))
  ) {
    throw new InvalidMockOptionError(
      `${option}.capacity`,
      'a positive integer or Infinity',
      capacity,
    )
  }
  return { latencyFactor, errorRate, capacity }
}

/** Private: one request waiting for a slot. */
interface Waiter {
  /** The caller's deadline from `x-request-timeout-ms`, as an absolute time; Infinity without. */
  expiresAt: number
  admit: (expired: boolean) => void
}

/**
 * Internal: the capacity queue of the brownout mode. A request takes a slot for its whole service
 * time, whether or not its client is still there (the modelled upstream does not notice callers
 * leaving), and the slots are shared by every route, as one overloaded backend's are.
 */
export class CapacityGate {
  #capacity: number
  #serving = 0
  #queue: Waiter[] = []
  #head = 0
  #maxQueued = 0
  #served = 0
  #abandoned = 0
  #expired = 0
  readonly #now: () => number

  constructor(capacity: number, now: () => number) {
    this.#capacity = capacity
    this.#now = now
  }

  /** Changes the capacity; a larger one admits waiting requests at once. */
  setCapacity(capacity: number): void {
    this.#capacity = capacity
    this.#drain()
  }

  /**
   * Waits for a slot. Resolves `true` with the slot taken (the caller must `release()` it), or
   * `false` without a slot when the request's propagated deadline passed while it waited.
   */
  acquire(timeoutMs: number | undefined): Promise<boolean> {
    const arrivedAt = this.#now()
    const expiresAt = timeoutMs === undefined ? Number.POSITIVE_INFINITY : arrivedAt + timeoutMs
    if (this.#serving < this.#capacity && this.#head === this.#queue.length) {
      if (expiresAt <= arrivedAt) {
        this.#expired++
        return Promise.resolve(false)
      }
      this.#serving++
      return Promise.resolve(true)
    }
    return new Promise((resolve) => {
      this.#queue.push({ expiresAt, admit: (expired) => resolve(!expired) })
      const queued = this.#queue.length - this.#head
      if (queued > this.#maxQueued) this.#maxQueued = queued
    })
  }

  /** Frees a slot taken by `acquire`; `abandoned` when the client left before the answer. */
  release(abandoned: boolean): void {
    this.#serving--
    this.#served++
    if (abandoned) this.#abandoned++
    this.#drain()
  }

  stats(): CapacityStats {
    return {
      capacity: this.#capacity,
      serving: this.#serving,
      queued: this.#queue.length - this.#head,
      maxQueued: this.#maxQueued,
      served: this.#served,
      abandoned: this.#abandoned,
      expired: this.#expired,
    }
  }

  /** Zeroes the totals and lowers `maxQueued` to the queue's length now. */
  reset(): void {
    this.#served = 0
    this.#abandoned = 0
    this.#expired = 0
    this.#maxQueued = this.#queue.length - this.#head
  }

  #drain(): void {
    const now = this.#now()
    while (this.#head < this.#queue.length) {
      const waiter = this.#queue[this.#head] as Waiter
      // A request whose caller's deadline has passed is answered without service time: the slot
      // goes to the next one, which is the point of propagating deadlines.
      if (waiter.expiresAt <= now) {
        this.#head++
        this.#expired++
        waiter.admit(true)
        continue
      }
      if (this.#serving >= this.#capacity) break
      this.#head++
      this.#serving++
      waiter.admit(false)
    }
    if (this.#head === this.#queue.length) {
      this.#queue = []
      this.#head = 0
    }
  }
}
