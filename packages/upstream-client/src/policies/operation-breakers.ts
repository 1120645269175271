import type { Clock } from '../clock.js'
import type { UpstreamError } from '../errors/upstream-error.js'
import { type CircuitState, Hook, type RampChangeEvent, type StateChangeEvent } from '../hooks.js'
import type { BreakerOptions } from '../options.js'
import { ALL_OPERATIONS, CircuitBreakerPolicy } from './circuit-breaker.js'

/** The operation key shared by every operation beyond a client's `maxOperations`. */
export const OTHER_OPERATION = '(other)'

/**
 * @internal The breakers of one client, as the client sees them: the breaker that guards an
 * operation, the states, the events, and shutdown. Implemented by {@link OperationBreakers} (the
 * default: one breaker per operation) and {@link SharedBreaker} (a `createCircuitBreaker`
 * handle: one breaker for every operation of every client given it).
 */
export interface BreakerSet {
  /** The breaker that guards calls of `operation`. */
  for(operation: string): CircuitBreakerPolicy
  /** The worst state of the breakers: `open`, else `halfOpen`, else `closed`. */
  readonly state: CircuitState
  /** State per operation key (a shared breaker reports the single key `*`). */
  states(): Record<string, CircuitState>
  readonly stateChanges: Pick<Hook<StateChangeEvent>, 'subscribe'>
  readonly rampChanges: Pick<Hook<RampChangeEvent>, 'subscribe'>
  /** The failure classification the breakers count (also used for stale-if-error). */
  readonly isFailure: (error: UpstreamError) => boolean
  /** Stops the timers of the breakers this set owns; a shared breaker is its creator's. */
  shutdown(): void
}

/**
 * @internal Per-operation circuit breakers (bulkheads for failures): each operation key gets its
 * own {@link CircuitBreakerPolicy}, created on its first call, with its own trip rule, probe and
 * ramp, so a flapping write route cannot open the circuit of the reads beside it.
 *
 * At most `maxOperations` breakers are created. Keys beyond that share one breaker under the key
 * {@link OTHER_OPERATION}, and `onOverflow` is called once, with the first such key, so the
 * owner can warn. Breakers are never evicted: an evicted open breaker would let a failing
 * operation straight back in, and keys are expected to be few (routes, not ids), which the cap
 * enforces.
 */
export class OperationBreakers implements BreakerSet {
  readonly #name: string
  readonly #options: Required<BreakerOptions>
  readonly #clock: Clock
  readonly #maxOperations: number
  readonly #onOverflow: (operation: string) => void
  readonly #breakers = new Map<string, CircuitBreakerPolicy>()
  #other: CircuitBreakerPolicy | undefined
  #shutDown = false
  readonly stateChanges = new Hook<StateChangeEvent>()
  readonly rampChanges = new Hook<RampChangeEvent>()

  constructor(
    name: string,
    options: Required<BreakerOptions>,
    clock: Clock,
    maxOperations: number,
    onOverflow: (operation: string) => void,
  ) {
    this.#name = name
    this.#options = options
    this.#clock = clock
    this.#maxOperations = maxOperations
    this.#onOverflow = onOverflow
  }

  get isFailure(): (error: UpstreamError) => boolean {
    return this.#options.isFailure
  }

  for(operation: string): CircuitBreakerPolicy {
    const existing = this.#breakers.get(operation)
    if (existing !== undefined) return existing
    if (this.#breakers.size < this.#maxOperations) {
      const breaker = this.#create(operation)
      this.#breakers.set(operation, breaker)
      return breaker
    }
    if (this.#other === undefined) {
      this.#other = this.#create(OTHER_OPERATION)
      this.#onOverflow(operation)
    }
    return this.#other
  }

  get state(): CircuitState {
    let worst: CircuitState = this.#other?.state ?? 'closed'
    for (const breaker of this.#breakers.values()) {
      const state = breaker.state
      if (state === 'open') return 'open'
      if (state === 'halfOpen') worst = 'halfOpen'
    }
    return worst
  }

  states(): Record<string, CircuitState> {
    const states: Record<string, CircuitState> = {}
    for (const [operation, breaker] of this.#breakers) states[operation] = breaker.state
    if (this.#other !== undefined) states[OTHER_OPERATION] = this.#other.state
    return states
  }

  shutdown(): void {
    this.#shutDown = true
    for (const breaker of this.#breakers.values()) breaker.shutdown()
    this.#other?.shutdown()
  }

  #create(operation: string): CircuitBreakerPolicy {
    const breaker = new CircuitBreakerPolicy(this.#name, this.#options, this.#clock, operation)
    // A breaker created by a call racing close() must not leave opossum's timers behind.
    if (this.#shutDown) breaker.shutdown()
    breaker.stateChanges.subscribe((event) => {
      if (this.stateChanges.active) this.stateChanges.emit(event)
    })
    breaker.rampChanges.subscribe((event) => {
      if (this.rampChanges.active) this.rampChanges.emit(event)
    })
    return breaker
  }
}

/**
 * @internal A breaker shared through `createCircuitBreaker`: one breaker for every operation of
 * every client it is given, reported under the key `*`. Its creator shuts it down.
 */
export class SharedBreaker implements BreakerSet {
  readonly #policy: CircuitBreakerPolicy

  constructor(policy: CircuitBreakerPolicy) {
    this.#policy = policy
  }

  get isFailure(): (error: UpstreamError) => boolean {
    return this.#policy.isFailure
  }

  get stateChanges(): Pick<Hook<StateChangeEvent>, 'subscribe'> {
    return this.#policy.stateChanges
  }

  get rampChanges(): Pick<Hook<RampChangeEvent>, 'subscribe'> {
    return this.#policy.rampChanges
  }

  for(): CircuitBreakerPolicy {
    return this.#policy
  }

  get state(): CircuitState {
    return this.#policy.state
  }

  states(): Record<string, CircuitState> {
    return { [ALL_OPERATIONS]: this.#policy.state }
  }

  shutdown(): void {
    // The creator of a shared breaker shuts it down, after closing every client that uses it.
  }
}
