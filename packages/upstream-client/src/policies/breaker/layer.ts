import type { Clock } from '../../clock.js'
import type { UpstreamError } from '../../errors/upstream-error.js'
import type { CircuitState, ClientHooks } from '../../hooks.js'
import type { Attempt, Step } from '../../pipeline.js'
import { CircuitBreakerPolicy, sharedPolicies } from './circuit-breaker.js'
import { FleetBreakerPolicy, sharedFleets } from './fleet-breaker.js'
import { type BreakerSet, OperationBreakers, SharedBreaker } from './operation-breakers.js'
import {
  type BreakerOptions,
  defaultIsFailure,
  type ResolvedBreakerOptions,
  resolveBreakerOptions,
} from './options.js'
import type { CircuitBreaker } from './shared.js'

/** @internal The client's `breaker` after validation: own options, a shared breaker, or off. */
export type ResolvedBreaker = ResolvedBreakerOptions | CircuitBreakerPolicy | false

/**
 * @internal Validates the client's `breaker` option: `false`, a handle from
 * `createCircuitBreaker` (recognised by its brand), or options for the client's own breakers.
 */
export function resolveBreaker(
  breaker: BreakerOptions | CircuitBreaker | false | undefined,
): ResolvedBreaker {
  if (breaker === false) return false
  const shared =
    typeof breaker === 'object' && breaker !== null ? sharedPolicies.get(breaker) : undefined
  if (shared !== undefined) return shared
  return resolveBreakerOptions('breaker.', breaker as BreakerOptions | undefined, [])
}

/** @internal What the breaker layer needs from the client. */
export interface BreakerLayerConfig {
  breaker: ResolvedBreaker
  name: string
  clock: Clock
  maxOperations: number
  /** Told once when operations overflow `maxOperations` into the `(other)` breaker. */
  onOverflow: (operation: string) => void
}

/**
 * @internal The client's breakers, assembled: the fleet layer (with a `store`) and the breaker
 * of each operation, as two attempt steps in that order, their events forwarded to the client's
 * hooks, their states for the facade, and their shutdown.
 */
export class BreakerLayer {
  readonly #breakers: BreakerSet | undefined
  readonly #fleet: FleetBreakerPolicy | undefined
  readonly #ownFleet: boolean
  readonly #unsubscribe: Array<() => void> = []
  /** The failure classification the breakers count (also used by stale-if-error). */
  readonly isFailure: (error: UpstreamError) => boolean

  constructor(config: BreakerLayerConfig, hooks: ClientHooks) {
    this.#breakers = createBreakers(config)
    this.isFailure = this.#breakers?.isFailure ?? defaultIsFailure
    this.#fleet = createFleet(config, this.isFailure)
    // A shared breaker's fleet layer belongs to its creator, like the breaker.
    this.#ownFleet = !(config.breaker instanceof CircuitBreakerPolicy)
    // The `active` checks keep an event nobody listens to from costing anything.
    const forward = <E>(
      source: { subscribe: (fn: (event: E) => void) => () => void },
      hook: { active: boolean; emit: (event: E) => void },
    ) =>
      this.#unsubscribe.push(
        source.subscribe((event) => {
          if (hook.active) hook.emit(event)
        }),
      )
    if (this.#breakers !== undefined) {
      forward(this.#breakers.stateChanges, hooks.stateChange)
      forward(this.#breakers.rampChanges, hooks.rampChange)
    }
    if (this.#fleet !== undefined) forward(this.#fleet.stateChanges, hooks.stateChange)
  }

  /** The attempt steps, outermost first: the operation's fleet circuit, then its own breaker. */
  steps(): Step<Attempt>[] {
    const steps: Step<Attempt>[] = []
    const fleet = this.#fleet
    if (fleet !== undefined) {
      steps.push({
        name: 'fleet-breaker',
        run: (a, next) => fleet.execute(a.call, a, a.call.operation, next),
      })
    }
    const breakers = this.#breakers
    if (breakers !== undefined) {
      steps.push({
        name: 'circuit-breaker',
        run: (a, next) => breakers.for(a.call.operation).execute(a.call, a, next),
      })
    }
    return steps
  }

  /** The worst state of the breakers; `closed` when the breaker is disabled. */
  get state(): CircuitState {
    return this.#breakers?.state ?? 'closed'
  }

  /** The state of each operation's breaker; `{}` when the breaker is disabled. */
  states(): Record<string, CircuitState> {
    return this.#breakers?.states() ?? {}
  }

  /** The state of the breaker that guards `operation`. */
  stateOf(operation: string): CircuitState {
    return this.#breakers?.for(operation).state ?? 'closed'
  }

  /**
   * Stops the timers of the client's own breakers first (so this client's listeners still hear
   * the ramp `aborted` event of that shutdown), then unsubscribes from every breaker.
   */
  shutdown(): void {
    this.#breakers?.shutdown()
    if (this.#ownFleet) this.#fleet?.shutdown()
    for (const off of this.#unsubscribe) off()
  }
}

/** Private: one breaker per operation (the default), a shared handle's single breaker, or none. */
function createBreakers(config: BreakerLayerConfig): BreakerSet | undefined {
  const option = config.breaker
  if (option === false) return undefined
  if (option instanceof CircuitBreakerPolicy) return new SharedBreaker(option)
  return new OperationBreakers(
    config.name,
    option,
    config.clock,
    config.maxOperations,
    config.onOverflow,
  )
}

/** Private: the fleet layer of an own breaker with a `store`, or the one of a shared breaker. */
function createFleet(
  config: BreakerLayerConfig,
  isFailure: (error: UpstreamError) => boolean,
): FleetBreakerPolicy | undefined {
  const option = config.breaker
  if (option === false) return undefined
  if (option instanceof CircuitBreakerPolicy) return sharedFleets.get(option)
  if (option.store === undefined) return undefined
  return new FleetBreakerPolicy(config.name, option.store, option, isFailure, config.clock)
}
