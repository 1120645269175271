import { fail, validateClock } from '../../checks.js'
import { type Clock, systemClock } from '../../clock.js'
import type { CircuitState, RampChangeEvent, StateChangeEvent } from '../../hooks.js'
import { CircuitBreakerPolicy, sharedPolicies } from './circuit-breaker.js'
import { FleetBreakerPolicy, sharedFleets } from './fleet-breaker.js'
import { type BreakerOptions, resolveBreakerOptions } from './options.js'

/** Options of {@link createCircuitBreaker}: the `breaker` options of a client, plus a name. */
export interface CircuitBreakerOptions extends BreakerOptions {
  /** The breaker (group) name, carried by its state and ramp events and by `CircuitOpenError`. */
  name: string
  /**
   * Time source of the failure window, the open-state `retryAfterMs` and the ramp queue's
   * deadlines. Default: the global timers. The clients sharing the breaker keep their own clocks
   * for timeouts, deadlines and retries.
   */
  clock?: Clock
}

/**
 * One circuit breaker that several clients can share: pass it as `breaker` to each
 * `createUpstreamClient`. Failures of every client count toward the same trip rule, and while it
 * is open every client fails fast. Create it with {@link createCircuitBreaker}.
 *
 * Whoever creates it owns it: `client.close()` only unsubscribes that client from it, and
 * {@link CircuitBreaker.shutdown} is the creator's job once the clients are closed.
 */
export interface CircuitBreaker {
  /** The breaker (group) name given to {@link createCircuitBreaker}. */
  readonly name: string
  /** Current state; the post-recovery ramp counts as `closed`. */
  readonly state: CircuitState
  /** Called when the circuit changes state. Returns an unsubscribe function. */
  onStateChange(listener: (event: StateChangeEvent) => void): () => void
  /** Called at each step of the post-recovery ramp. Returns an unsubscribe function. */
  onRampChange(listener: (event: RampChangeEvent) => void): () => void
  /**
   * Stops the breaker's timers and rejects calls waiting in its ramp queue. Call it after closing
   * the clients that share it; calling it again does nothing.
   */
  shutdown(): void
}

const OPTION_KEYS = ['name', 'clock']

/**
 * Creates a circuit breaker to share between clients of the same upstream (or of one named
 * group), so they trip and recover together instead of each learning about an outage on its
 * own. There is no process-wide registry: the breaker is shared exactly with the clients it is
 * passed to. Options are validated like a client's `breaker` options; an invalid one throws
 * `InvalidOptionError` naming it and quoting the value.
 *
 * @example
 * const breaker = createCircuitBreaker({ name: 'event-api', failureThreshold: 3, windowMs: 30_000 })
 * const reads = createUpstreamClient({ baseUrl, breaker, timeoutMs: 2_000 })
 * const writes = createUpstreamClient({ baseUrl, breaker, retry: false })
 * // ... on shutdown:
 * await Promise.all([reads.close(), writes.close()])
 * breaker.shutdown()
 */
export function createCircuitBreaker(options: CircuitBreakerOptions): CircuitBreaker {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options)
  const { name, clock } = options
  if (typeof name !== 'string' || name === '') fail('name', 'a non-empty string', name)
  validateClock('clock', clock)
  const resolved = resolveBreakerOptions('', options, OPTION_KEYS)
  const policy = new CircuitBreakerPolicy(name, resolved, clock ?? systemClock)
  const fleet =
    resolved.store === undefined
      ? undefined
      : new FleetBreakerPolicy(
          name,
          resolved.store,
          resolved,
          resolved.isFailure,
          clock ?? systemClock,
        )
  if (fleet !== undefined) sharedFleets.set(policy, fleet)
  const handle: CircuitBreaker = Object.freeze<CircuitBreaker>({
    name,
    get state() {
      return policy.state
    },
    onStateChange: (listener) => policy.stateChanges.subscribe(listener),
    onRampChange: (listener) => policy.rampChanges.subscribe(listener),
    shutdown: () => {
      policy.shutdown()
      fleet?.shutdown()
    },
  })
  sharedPolicies.set(handle, policy)
  return handle
}
