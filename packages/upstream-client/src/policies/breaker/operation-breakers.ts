import type { Clock } from '../../clock.js'
import type { UpstreamError } from '../../errors/upstream-error.js'
import {
  type CircuitState,
  Hook,
  type RampChangeEvent,
  type StateChangeEvent,
} from '../../hooks.js'
import { OperationMap } from '../../operation-map.js'
import { ALL_OPERATIONS, CircuitBreakerPolicy } from './circuit-breaker.js'
import type { ResolvedBreakerOptions } from './options.js'

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
 * At most `maxOperations` breakers are created (an {@link OperationMap}): keys beyond that share
 * one breaker under the key `(other)`, and `onOverflow` is called once, with the first such key,
 * so the owner can warn. Breakers are never evicted.
 */
export class OperationBreakers implements BreakerSet {
  readonly #name: string
  readonly #options: ResolvedBreakerOptions
  readonly #clock: Clock
  readonly #breakers: OperationMap<CircuitBreakerPolicy>
  #shutDown = false
  readonly stateChanges = new Hook<StateChangeEvent>()
  readonly rampChanges = new Hook<RampChangeEvent>()

  constructor(
    name: string,
    options: ResolvedBreakerOptions,
    clock: Clock,
    maxOperations: number,
    onOverflow: (operation: string) => void,
  ) {
    this.#name = name
    this.#options = options
    this.#clock = clock
    this.#breakers = new OperationMap(
      maxOperations,
      (operation) => this.#create(operation),
      onOverflow,
    )
  }

  get isFailure(): (error: UpstreamError) => boolean {
    return this.#options.isFailure
  }

  for(operation: string): CircuitBreakerPolicy {
    return this.#breakers.get(operation)
  }

  get state(): CircuitState {
    let worst: CircuitState = 'closed'
    for (const breaker of this.#breakers.values()) {
      const state = breaker.state
      if (state === 'open') return 'open'
      if (state === 'halfOpen') worst = 'halfOpen'
    }
    return worst
  }

  states(): Record<string, CircuitState> {
    const states: Record<string, CircuitState> = {}
    for (const [operation, breaker] of this.#breakers.entries()) states[operation] = breaker.state
    return states
  }

  shutdown(): void {
    this.#shutDown = true
    for (const breaker of this.#breakers.values()) breaker.shutdown()
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
