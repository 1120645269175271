import type { Call } from '../call.js'
import { checks, fail } from '../checks.js'
import type { Clock } from '../clock.js'
import { ConcurrencyLimitError } from '../errors/concurrency-limit-error.js'
import { isUpstreamError } from '../errors/upstream-error.js'
import type { ClientHooks } from '../hooks.js'
import { OperationMap } from '../operation-map.js'
import type { Attempt, Step } from '../pipeline.js'
import { type AttemptFn, type QueuedAttempt, queueAttempt } from '../queue-wait.js'

/**
 * Adaptive concurrency options (`adaptiveLimit`): a limit on the attempts of each operation in
 * flight, learned from their round-trip times with Netflix's Gradient2 algorithm, between
 * `minLimit` and `maxLimit`. `true` uses the defaults; `false` (the default) turns it off.
 */
export interface AdaptiveLimitOptions {
  /** The limit of an operation before its first sample. Default 20 (within min and max). */
  initialLimit?: number
  /** The limit never goes below this. Default 2. */
  minLimit?: number
  /**
   * The limit never goes above this, nor above `maxInFlight`. Default: `maxInFlight` when it is
   * set, else the client's `connections` (50).
   */
  maxLimit?: number
  /** How much slower than its long-term average an attempt may be before the limit shrinks. Default 1.5. */
  tolerance?: number
  /** Share of each new estimate taken into the limit, from 0 (exclusive) to 1. Default 0.2. */
  smoothing?: number
  /** Samples in the long-term RTT average (an exponential moving average). Default 600. */
  longWindow?: number
  /** Headroom added to each estimate, so the limit can grow while there is no queueing. Default 4. */
  queueSize?: number
  /** Calls of one operation that may wait for a slot (within their deadline). Default 50. */
  maxQueued?: number
}

/** @internal Resolved adaptive-limit options. */
export type ResolvedAdaptiveLimit = Required<AdaptiveLimitOptions>

/** @internal Defaults; `maxLimit` is filled in from the client's options. */
export const adaptiveLimitDefaults = Object.freeze({
  initialLimit: 20,
  minLimit: 2,
  tolerance: 1.5,
  smoothing: 0.2,
  longWindow: 600,
  queueSize: 4,
  maxQueued: 50,
})

const KEYS = [
  'initialLimit',
  'minLimit',
  'maxLimit',
  'tolerance',
  'smoothing',
  'longWindow',
  'queueSize',
  'maxQueued',
]

/**
 * @internal Validates `adaptiveLimit` and fills in defaults (`maxLimit` defaults to
 * `defaultMax`). Throws `InvalidOptionError` naming the option and quoting the value.
 */
export function resolveAdaptiveLimit(
  value: unknown,
  defaultMax: number,
): ResolvedAdaptiveLimit | false {
  if (value === false || value === undefined) return false
  const given = value === true ? {} : value
  if (typeof given !== 'object' || given === null || Array.isArray(given)) {
    fail('adaptiveLimit', 'an object, true or false', value)
  }
  checks.rejectUnknown('adaptiveLimit.', given, KEYS)
  const g = given as AdaptiveLimitOptions
  const d = adaptiveLimitDefaults
  const minLimit = integer('minLimit', g.minLimit ?? d.minLimit, 1)
  const maxLimit = integer('maxLimit', g.maxLimit ?? Math.max(defaultMax, minLimit), minLimit)
  const initial = g.initialLimit ?? Math.min(Math.max(d.initialLimit, minLimit), maxLimit)
  const initialLimit = integer('initialLimit', initial, minLimit)
  if (initialLimit > maxLimit)
    fail('adaptiveLimit.initialLimit', `<= maxLimit (${maxLimit})`, initial)
  const tolerance = g.tolerance ?? d.tolerance
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 1) {
    fail('adaptiveLimit.tolerance', 'a finite number >= 1', tolerance)
  }
  const smoothing = g.smoothing ?? d.smoothing
  if (typeof smoothing !== 'number' || !(smoothing > 0 && smoothing <= 1)) {
    fail('adaptiveLimit.smoothing', 'a number in (0, 1]', smoothing)
  }
  const longWindow = integer('longWindow', g.longWindow ?? d.longWindow, 1)
  const queueSize = g.queueSize ?? d.queueSize
  if (typeof queueSize !== 'number' || !Number.isFinite(queueSize) || queueSize < 0) {
    fail('adaptiveLimit.queueSize', 'a finite number >= 0', queueSize)
  }
  const maxQueued = integer('maxQueued', g.maxQueued ?? d.maxQueued, 0)
  return {
    initialLimit,
    minLimit,
    maxLimit,
    tolerance,
    smoothing,
    longWindow,
    queueSize,
    maxQueued,
  }
}

/**
 * @internal The adaptive-limit step (per attempt): runs each attempt within its operation's
 * learned limit. It sits outside the breakers, so its refusals are never breaker failures.
 */
export function adaptiveLimitStep(limiter: AdaptiveLimiter): Step<Attempt> {
  return {
    name: 'adaptive-limit',
    run: (attempt, next) => limiter.execute(attempt.call.operation, attempt.call, attempt, next),
  }
}

/** Private: samples averaged plainly before the long-term average turns exponential. */
const WARMUP_SAMPLES = 10

/** Private: the learned limit and the slots of one operation. */
interface OperationLimit {
  name: string
  /** The Gradient2 estimate; attempts in flight are capped at its floor. */
  estimate: number
  inFlight: number
  /** Long-term average RTT, in ms. */
  longRtt: number
  /** The last sampled RTT, in ms. */
  lastRtt: number
  samples: number
  queue: QueuedAttempt[]
}

/**
 * @internal Adaptive concurrency policy (Netflix concurrency-limits' `Gradient2Limit`; Envoy's
 * adaptive-concurrency filter follows the same idea). No maintained JavaScript library implements
 * it (npm has fixed-limit semaphores and AIMD rate limiters only), so it is written here, driven
 * by the injected clock.
 *
 * Each operation keeps a limit on its attempts in flight. Every attempt that got an answer (any
 * status) or timed out is a sample of its round-trip time (RTT); aborted attempts, open-circuit
 * rejections and connection failures say nothing about queueing and are not sampled. Per sample:
 *
 * - the long-term RTT is an exponential moving average over `longWindow` samples (a plain
 *   average for the first 10); when it is more than twice the sample it decays by 5 %, so the
 *   limit recovers quickly after a slow period instead of waiting for the average to forget it;
 * - while fewer than half the limit are in flight the limit is not the bottleneck, and it stays;
 * - `gradient = clamp(tolerance × longRtt / rtt, 0.5, 1)`: 1 while the upstream answers as fast
 *   as usual (within the tolerance), down to 0.5 as its queue grows. A timeout takes 0.5 at
 *   once: Gradient2 ignores drops, but here a timed-out attempt is the clearest sign that the
 *   upstream's queue is longer than callers can wait (its "RTT" would only be the budget it was
 *   cut at, and a short deadline would hide how slow the upstream is);
 * - `limit = (1 − smoothing) × limit + smoothing × (gradient × limit + queueSize)`, clamped to
 *   `[minLimit, maxLimit]`.
 *
 * A call beyond the limit waits in a FIFO queue of at most `maxQueued` per operation, within its
 * deadline and its caller's signal. It is rejected with {@link ConcurrencyLimitError} when the
 * queue is full, when its expected wait plus one round trip would outlast its deadline (the queue
 * turns over about `limit` calls per round trip), when its deadline passes while it waits, or when
 * its slot comes with less time left than a round trip. The policy sits outside the breaker, so the breaker never counts
 * these rejections; the retry policy does not retry them.
 */
export class AdaptiveLimiter {
  readonly #name: string
  readonly #options: ResolvedAdaptiveLimit
  readonly #clock: Clock
  readonly #hooks: ClientHooks
  readonly #operations: OperationMap<OperationLimit>
  readonly #factor: number

  constructor(
    name: string,
    options: ResolvedAdaptiveLimit,
    clock: Clock,
    hooks: ClientHooks,
    maxOperations: number,
  ) {
    this.#name = name
    this.#options = options
    this.#clock = clock
    this.#hooks = hooks
    this.#operations = new OperationMap(maxOperations, (name) => ({
      name,
      estimate: options.initialLimit,
      inFlight: 0,
      longRtt: 0,
      lastRtt: 0,
      samples: 0,
      queue: [],
    }))
    this.#factor = 2 / (options.longWindow + 1)
  }

  /** The current limit of `operation` (the initial limit before its first call). */
  limit(operation: string): number {
    const op = this.#operations.peek(operation)
    return op === undefined ? this.#options.initialLimit : Math.floor(op.estimate)
  }

  /** Runs one attempt of `operation` within its limit, waiting for a slot or failing fast. */
  execute(operation: string, call: Call, attempt: Attempt, run: AttemptFn): Promise<unknown> {
    const op = this.#operation(operation)
    if (op.inFlight < Math.floor(op.estimate) && op.queue.length === 0) {
      return this.#run(op, attempt, run)
    }
    // An already-aborted call rejects at once without a request; it needs no slot.
    if (call.signal?.aborted) return run(attempt)
    if (op.queue.length >= this.#options.maxQueued) {
      return Promise.reject(this.#limitError(op, call, attempt, 'its queue is full'))
    }
    // The limit's slots turn over about once per round trip, so the k-th waiter gets a slot
    // after about ⌊k / limit⌋ round trips and then needs one more. A caller who cannot be served
    // before its deadline even so is told at once (and backs off), instead of waiting in the
    // queue until the deadline, taking a slot at the last moment and timing out at the upstream.
    const rtt = this.#expectedRtt(op)
    if (rtt > 0) {
      const rounds = Math.floor(op.queue.length / Math.floor(op.estimate)) + 1
      if (call.deadlineAt - this.#clock.now() < rounds * rtt) {
        return Promise.reject(
          this.#limitError(op, call, attempt, 'its wait would outlast its deadline'),
        )
      }
    }
    return queueAttempt(op.queue, call, attempt, run, this.#clock, () =>
      this.#limitError(op, call, attempt, 'no slot before its deadline'),
    )
  }

  #run(op: OperationLimit, attempt: Attempt, run: AttemptFn): Promise<unknown> {
    op.inFlight++
    const inFlight = op.inFlight
    const startedAt = this.#clock.now()
    return run(attempt).then(
      (value) => {
        this.#settled(op, startedAt, inFlight, SAMPLE)
        return value
      },
      (error: unknown) => {
        this.#settled(op, startedAt, inFlight, sampleOf(error))
        throw error
      },
    )
  }

  #settled(op: OperationLimit, startedAt: number, inFlight: number, sample: Sample): void {
    op.inFlight--
    // The clock counts whole milliseconds; a loopback answer can take "0 ms", which would make
    // every ratio below infinite.
    const rtt = Math.max(1, this.#clock.now() - startedAt)
    if (sample !== NO_SAMPLE) this.#sample(op, rtt, inFlight, sample === DROP)
    this.#drain(op)
  }

  /** One Gradient2 update (see the class comment); a timeout (`drop`) takes the lowest gradient. */
  #sample(op: OperationLimit, rtt: number, inFlight: number, drop: boolean): void {
    const o = this.#options
    op.longRtt =
      op.samples < WARMUP_SAMPLES
        ? (op.longRtt * op.samples + rtt) / (op.samples + 1)
        : op.longRtt * (1 - this.#factor) + rtt * this.#factor
    op.samples++
    op.lastRtt = rtt
    if (op.longRtt / rtt > 2) op.longRtt *= 0.95
    if (inFlight < op.estimate / 2) return
    const gradient = drop ? 0.5 : Math.max(0.5, Math.min(1, (o.tolerance * op.longRtt) / rtt))
    const target = op.estimate * gradient + o.queueSize
    const next = Math.max(
      o.minLimit,
      Math.min(o.maxLimit, op.estimate * (1 - o.smoothing) + target * o.smoothing),
    )
    const previous = Math.floor(op.estimate)
    op.estimate = next
    const limit = Math.floor(next)
    if (limit !== previous && this.#hooks.limitChange.active) {
      this.#hooks.limitChange.emit({
        operation: op.name,
        limit,
        previous,
        rttMs: rtt,
        longRttMs: op.longRtt,
        inFlight: op.inFlight,
      })
    }
  }

  /** Lets waiting calls in while the limit has room (after a release or a raised limit). */
  #drain(op: OperationLimit): void {
    while (op.queue.length > 0 && op.inFlight < Math.floor(op.estimate)) {
      const waiter = op.queue.shift() as QueuedAttempt
      waiter.unwatch()
      const { call, attempt } = waiter
      // A slot that comes too late for even a quick round trip would only send a request whose
      // answer nobody can wait for; the slot goes to the next caller instead.
      const left = call.deadlineAt - this.#clock.now()
      if (left < this.#expectedRtt(op)) {
        waiter.reject(
          this.#limitError(op, call, attempt, 'too little time left before its deadline'),
        )
        continue
      }
      waiter.resolve(waiter.scope(() => this.#run(op, attempt, waiter.run)))
    }
  }

  /**
   * The optimistic round-trip estimate used to refuse waits that cannot end in time: the smaller
   * of the long-term average and the last sample, 0 before any sample (then nobody is refused).
   */
  #expectedRtt(op: OperationLimit): number {
    return op.samples === 0 ? 0 : Math.min(op.longRtt, op.lastRtt)
  }

  #operation(name: string): OperationLimit {
    return this.#operations.get(name)
  }

  #limitError(
    op: OperationLimit,
    call: Call,
    attempt: Attempt,
    reason: string,
  ): ConcurrencyLimitError {
    const limit = Math.floor(op.estimate)
    return new ConcurrencyLimitError({
      method: call.method,
      url: call.url,
      attempts: attempt.number - 1,
      breaker: this.#name,
      operation: op.name,
      limit,
      limitName: 'adaptive limit',
      // A slot frees up about one round trip from now.
      retryAfterMs: Math.max(1, Math.ceil(op.longRtt)),
      reason: `reached its adaptive concurrency limit of ${limit}: ${reason}`,
    })
  }
}

/** Private: what an attempt's outcome tells the limit. */
type Sample = 0 | 1 | 2
const NO_SAMPLE: Sample = 0
const SAMPLE: Sample = 1
const DROP: Sample = 2

/**
 * Private: an answer of any status is a round-trip sample; a timeout is a drop (its "RTT" is only
 * the budget it was cut at, and it says the upstream could not answer in time). An abort, an open
 * circuit or a refused connection says nothing about the upstream's queueing.
 */
function sampleOf(error: unknown): Sample {
  if (!isUpstreamError(error)) return NO_SAMPLE
  if (error.code === 'UPSTREAM_TIMEOUT') return DROP
  return error.status === undefined ? NO_SAMPLE : SAMPLE
}

/** Private: validates a whole number option of `adaptiveLimit`. */
function integer(key: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    fail(`adaptiveLimit.${key}`, `an integer >= ${min}`, value)
  }
  return value
}
