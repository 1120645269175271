import { EventEmitter } from 'node:events'
import CircuitBreaker from 'opossum'
import { type Call, deadlineError } from '../../call.js'
import type { Clock } from '../../clock.js'
import { CircuitOpenError } from '../../errors/circuit-open-error.js'
import { isUpstreamError, type UpstreamError } from '../../errors/upstream-error.js'
import {
  type CircuitState,
  Hook,
  type RampChangeEvent,
  type RampPhase,
  type StateChangeEvent,
} from '../../hooks.js'
import type { Attempt } from '../../pipeline.js'
import { type AttemptFn, type QueuedAttempt, queueAttempt } from '../../queue-wait.js'
import { channels } from '../../telemetry/channels.js'
import type { ResolvedBreakerOptions } from './options.js'

/** Private: the gradual return of traffic after a successful probe. */
interface Ramp {
  /** Calls allowed in flight; doubles with every success until `rampLimit`. */
  allowance: number
  inFlight: number
  queue: QueuedAttempt[]
}

/** Hint given to calls rejected while a probe runs or the ramp queue is full. */
const RECOVERING_HINT_MS = 1_000

/**
 * @internal Circuit-breaker policy: one per client, or one shared by several clients through
 * `createCircuitBreaker` (src/breaker.ts). opossum holds the state machine
 * (closed → open → halfOpen with a single probe → closed) and its reset timer, and runs the
 * half-open probe and the ramp's calls; this class adds:
 *
 * - **Trip rule.** opossum's rule is a percentage over a volume and cannot say "3 failures in
 *   30 s". Its own rule is disabled (`errorThresholdPercentage: 100` can never be exceeded); the
 *   times of the last `failureThreshold` failures are kept in a ring, and `breaker.open()` is
 *   called when the oldest of them is within `windowMs`. Successes never touch the ring, so they
 *   cannot dilute it. The ring is cleared when the breaker closes.
 * - **No opossum timeout.** `timeout: false`: its AbortController is shared by the whole breaker,
 *   so one timeout would abort every call in flight. Attempts time out in the transport.
 * - **Fail fast** with {@link CircuitOpenError} (and `retryAfterMs`) before calling opossum.
 * - **Cheap closed state.** While closed and not ramping, attempts bypass `fire()` (which only
 *   feeds opossum's unused rolling stats) and their failures go straight to the ring.
 * - **Ramp.** After a successful probe the breaker is closed, but calls in flight are limited to
 *   2, doubling with each success until `rampLimit`; excess calls wait in a queue of at most
 *   `maxQueued`. Any failure during the ramp re-opens the breaker and rejects the queue. Each
 *   step (started, widened, finished, aborted) is emitted on `rampChanges`, because the circuit
 *   state alone says `closed` for the whole ramp.
 * - **Events.** State and ramp changes are {@link Hook}s rather than single callbacks, so every
 *   client sharing the breaker can subscribe (and unsubscribe when it closes).
 *
 * opossum schedules the half-open transition with the global `setTimeout`, looked up when the
 * breaker opens, so fake timers drive it; the injected clock drives everything else here.
 */
export class CircuitBreakerPolicy {
  readonly #name: string
  readonly #operation: string
  readonly #options: ResolvedBreakerOptions
  readonly #clock: Clock
  /** Emitted on every state change, with the breaker's name (and on its diagnostics channel). */
  readonly stateChanges = new Hook<StateChangeEvent>(channels.circuitState)
  /** Emitted at every step of the post-recovery ramp (and on its diagnostics channel). */
  readonly rampChanges = new Hook<RampChangeEvent>(channels.circuitRamp)
  readonly #breaker: CircuitBreaker<[AttemptFn, Attempt], unknown>
  readonly #failureTimes: number[]
  #failureCount = 0
  #nextSlot = 0
  #state: CircuitState = 'closed'
  #openedAt = 0
  #ramp: Ramp | undefined
  #shutDown = false

  /**
   * `operation` is the key of the calls this breaker guards (see `Call.operation`), or
   * {@link ALL_OPERATIONS} for a breaker shared by every operation; it is carried by the events.
   */
  constructor(
    name: string,
    options: ResolvedBreakerOptions,
    clock: Clock,
    operation: string = ALL_OPERATIONS,
  ) {
    this.#name = name
    this.#operation = operation
    this.#options = options
    this.#clock = clock
    this.#failureTimes = new Array<number>(options.failureThreshold).fill(0)
    this.#breaker = new CircuitBreaker((run: AttemptFn, attempt: Attempt) => run(attempt), {
      name,
      timeout: false,
      resetTimeout: options.resetTimeoutMs,
      errorThresholdPercentage: 100,
      // A probe the caller aborted got no answer, so it proves nothing about the upstream; as
      // a "success" it would close the circuit while the upstream may still be down.
      errorFilter: (error: unknown) =>
        !(
          isUpstreamError(error) &&
          (options.isFailure(error) || error.code === 'UPSTREAM_ABORTED')
        ),
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
      // opossum's rolling stats are unused; a controller that never emits keeps them from
      // starting a setInterval per breaker.
      rotateBucketController: new EventEmitter(),
    })
    this.#breaker.on('failure', () => this.#onFailure())
    this.#breaker.on('open', () => {
      this.#openedAt = this.#clock.now()
      // State first, so an `aborted` ramp event already sees (and logs) the circuit as open.
      this.#transition('open')
      this.#endRamp('re-opened')
    })
    this.#breaker.on('halfOpen', () => this.#transition('halfOpen'))
    this.#breaker.on('close', () => {
      const from = this.#state
      this.#failureCount = 0
      const ramp: Ramp | undefined =
        from === 'halfOpen' && this.#options.rampLimit > 2
          ? { allowance: 2, inFlight: 0, queue: [] }
          : undefined
      this.#ramp = ramp
      this.#transition('closed')
      if (ramp !== undefined) this.#rampChanged(ramp.allowance, 0, 'started')
    })
  }

  /** The breaker (group) name carried by its events and errors. */
  get name(): string {
    return this.#name
  }

  /** The operation this breaker guards, or {@link ALL_OPERATIONS}. */
  get operation(): string {
    return this.#operation
  }

  /** The failure classification this breaker counts (also used for stale-if-error). */
  get isFailure(): (error: UpstreamError) => boolean {
    return this.#options.isFailure
  }

  /** Current state; the ramp counts as `closed`. */
  get state(): CircuitState {
    return this.#state
  }

  /** Runs one attempt through the breaker, or rejects with {@link CircuitOpenError} at once. */
  execute(call: Call, attempt: Attempt, run: AttemptFn): Promise<unknown> {
    const breaker = this.#breaker
    if (breaker.opened) {
      const retryAfterMs = Math.max(
        0,
        this.#openedAt + this.#options.resetTimeoutMs - this.#clock.now(),
      )
      return Promise.reject(this.#openError(call, attempt, 'is open', retryAfterMs))
    }
    if (breaker.halfOpen && !breaker.pendingClose) {
      return Promise.reject(
        this.#openError(call, attempt, 'is half-open with a probe in flight', this.#hint()),
      )
    }
    const ramp = this.#ramp
    if (ramp === undefined && this.#state === 'closed') {
      // Closed and not ramping: the common case. opossum's fire() would only update rolling
      // stats this policy does not use, at about 1 µs per call (bench/overhead.bench.ts), so the
      // attempt runs directly and only its failures are recorded.
      return run(attempt).catch(this.#recordFailure)
    }
    if (ramp === undefined) {
      // An already-aborted call rejects without a request; it must not use up the single probe.
      if (call.signal?.aborted) return run(attempt)
      return breaker.fire(run, attempt) // the half-open probe
    }
    if (ramp.inFlight < ramp.allowance) return this.#runRamped(ramp, attempt, run)
    if (ramp.queue.length >= this.#options.maxQueued) {
      return Promise.reject(
        this.#openError(call, attempt, 'is recovering and its queue is full', this.#hint()),
      )
    }
    if (call.signal?.aborted) return run(attempt) // rejects at once, without a request
    return queueAttempt(ramp.queue, call, attempt, run, this.#clock, () =>
      deadlineError(call, attempt.number - 1),
    )
  }

  /** Stops opossum's timers and rejects calls waiting in the ramp queue. Idempotent. */
  shutdown(): void {
    if (this.#shutDown) return
    this.#shutDown = true
    this.#endRamp('shut down')
    this.#breaker.shutdown()
  }

  /** Records a failure of a closed-state attempt that bypassed opossum, then rethrows it. */
  readonly #recordFailure = (error: unknown): never => {
    if (isUpstreamError(error) && this.#options.isFailure(error)) this.#onFailure()
    throw error
  }

  #onFailure(): void {
    if (this.#state !== 'closed') return
    if (this.#ramp !== undefined) {
      this.#breaker.open()
      return
    }
    const now = this.#clock.now()
    const size = this.#failureTimes.length
    this.#failureTimes[this.#nextSlot] = now
    this.#nextSlot = (this.#nextSlot + 1) % size
    if (this.#failureCount < size) this.#failureCount++
    // With the ring full, the slot about to be overwritten holds the oldest of the last
    // `failureThreshold` failures; if even that one is inside the window, all of them are.
    if (
      this.#failureCount === size &&
      now - (this.#failureTimes[this.#nextSlot] as number) <= this.#options.windowMs
    ) {
      this.#breaker.open()
    }
  }

  #runRamped(ramp: Ramp, attempt: Attempt, run: AttemptFn): Promise<unknown> {
    ramp.inFlight++
    // Ramp calls run beside opossum, not through fire(): a call admitted by this ramp may still
    // be in flight after a failure re-opened the circuit and it half-opened again. Through
    // fire(), its late success would close the circuit as if it were the new probe. Only the
    // ramp that admitted a call may act on its outcome.
    return run(attempt).then(
      (value) => {
        this.#rampSettled(ramp, true)
        return value
      },
      (error: unknown) => {
        const failure = isUpstreamError(error) && this.#options.isFailure(error)
        if (failure && this.#ramp === ramp) this.#breaker.open()
        // An answered non-failure (a 404, say) still proves the upstream is back.
        this.#rampSettled(ramp, !failure && isUpstreamError(error) && error.status !== undefined)
        throw error
      },
    )
  }

  #rampSettled(ramp: Ramp, success: boolean): void {
    ramp.inFlight--
    if (this.#ramp !== ramp) return
    if (success) ramp.allowance *= 2
    if (ramp.allowance >= this.#options.rampLimit) {
      this.#ramp = undefined
      this.#rampChanged(Number.POSITIVE_INFINITY, ramp.queue.length, 'finished')
      for (const waiter of ramp.queue.splice(0)) this.#admit(waiter, undefined)
      return
    }
    while (ramp.inFlight < ramp.allowance && ramp.queue.length > 0) {
      this.#admit(ramp.queue.shift() as QueuedAttempt, ramp)
    }
    if (success) this.#rampChanged(ramp.allowance, ramp.queue.length, 'widened')
  }

  // A queued call keeps its deadline and its caller's signal (`queueAttempt`): either one takes
  // it out of the queue at once, instead of when the ramp next moves (which can be a whole
  // attempt timeout away while the calls in flight hang).
  #admit(waiter: QueuedAttempt, ramp: Ramp | undefined): void {
    waiter.scope(() => this.#admitInScope(waiter, ramp))
  }

  #admitInScope(waiter: QueuedAttempt, ramp: Ramp | undefined): void {
    const { call, attempt, run } = waiter
    waiter.unwatch()
    // A waiter whose deadline passed or whose caller gave up must not spend a ramp slot, and must
    // not be counted as an upstream failure either.
    if (this.#clock.now() >= call.deadlineAt) {
      waiter.reject(deadlineError(call, attempt.number - 1))
      return
    }
    if (call.signal?.aborted) {
      waiter.resolve(run(attempt))
      return
    }
    waiter.resolve(
      ramp === undefined
        ? run(attempt).catch(this.#recordFailure) // the ramp finished: plain closed state
        : this.#runRamped(ramp, attempt, run),
    )
  }

  #endRamp(reason: string): void {
    const ramp = this.#ramp
    if (ramp === undefined) return
    this.#ramp = undefined
    this.#rampChanged(0, ramp.queue.length, 'aborted')
    for (const { call, attempt, reject, unwatch } of ramp.queue.splice(0)) {
      unwatch()
      reject(
        this.#openError(call, attempt, `${reason} while recovering`, this.#options.resetTimeoutMs),
      )
    }
  }

  #transition(to: CircuitState): void {
    const from = this.#state
    if (from === to) return
    this.#state = to
    if (this.stateChanges.active)
      this.stateChanges.emit({ name: this.#name, operation: this.#operation, from, to })
  }

  #rampChanged(allowedInFlight: number, queued: number, phase: RampPhase): void {
    if (this.rampChanges.active) {
      this.rampChanges.emit({
        name: this.#name,
        operation: this.#operation,
        allowedInFlight,
        queued,
        phase,
      })
    }
  }

  #hint(): number {
    return Math.min(RECOVERING_HINT_MS, this.#options.resetTimeoutMs)
  }

  #openError(call: Call, attempt: Attempt, reason: string, retryAfterMs: number): CircuitOpenError {
    return new CircuitOpenError({
      method: call.method,
      url: call.url,
      attempts: attempt.number - 1,
      breaker: this.#name,
      operation: call.operation,
      retryAfterMs,
      reason,
    })
  }
}

/**
 * @internal The policy behind each handle returned by `createCircuitBreaker`. Kept here, beside
 * the policy, so option validation can recognise a handle without importing the factory module
 * (which imports the validation). A WeakMap brand cannot be forged by a look-alike object and
 * lets a dropped handle be collected.
 */
export const sharedPolicies = new WeakMap<object, CircuitBreakerPolicy>()

/**
 * @internal The `operation` of a breaker that guards every operation of its clients (one shared
 * through `createCircuitBreaker`), as carried by its state and ramp events.
 */
export const ALL_OPERATIONS = '*'
