import type { Call } from '../../call.js'
import type { Clock } from '../../clock.js'
import { CircuitOpenError } from '../../errors/circuit-open-error.js'
import { isUpstreamError, type UpstreamError } from '../../errors/upstream-error.js'
import { type CircuitState, Hook, type StateChangeEvent } from '../../hooks.js'
import type { Attempt } from '../../pipeline.js'
import type { AttemptFn } from '../../queue-wait.js'
import type {
  BreakerStateStore,
  BreakerStoreEvent,
  FleetCircuit,
  FleetOutcome,
  FleetRule,
  FleetView,
} from './state-store.js'

/**
 * Longest wait for the store on a call's path (probe lease, ramp slot). A store that has not
 * answered by then is treated as away for this call, which then runs on the local breaker alone.
 */
export const STORE_WAIT_MS = 250

/** Added to an attempt's own time limit to size a lease, so it outlives the attempt it covers. */
const LEASE_MARGIN_MS = 250

/** At most this many operations keep a fleet view; the oldest is forgotten beyond it. */
const MAX_VIEWS = 1_000

/** Private: what this replica currently believes about one fleet circuit. */
interface View {
  state: FleetView['state']
  /** Clock time until which `open`/`halfOpen` fail fast without asking the store. */
  until: number
}

/**
 * @internal The fleet layer of the circuit breaker: one per client (or shared breaker) with a
 * `breaker.store`. It sits in front of the local breaker, which keeps its own rule:
 *
 *     fleet layer → local breaker (per operation) → attempt
 *
 * - **Closed costs nothing.** While the fleet circuit of an operation is closed, an attempt runs
 *   directly; only its failures are reported to the store, without waiting for the answer.
 * - **Open fails fast** from the view kept here, which the store's events update (pub/sub):
 *   every replica learns of an opening within one round trip of the store, and a replica that
 *   never called the upstream needs none of its own failures to stop calling it.
 * - **Probe and ramp** need the store's permission: past the reset time one replica in the fleet
 *   gets the probe lease, the others fail fast; during the fleet-wide ramp each call takes a slot.
 * - **The store away or slow** (its `unavailable` event, a rejection, no answer within
 *   {@link STORE_WAIT_MS}) forgets the views, and calls run on the local breaker alone until the
 *   store's `available` event; the views are then learned again from the store.
 */
export class FleetBreakerPolicy {
  readonly #name: string
  readonly #store: BreakerStateStore
  readonly #rule: FleetRule
  readonly #isFailure: (error: UpstreamError) => boolean
  readonly #clock: Clock
  readonly #views = new Map<string, View>()
  /** Operations whose view is being read from the store. */
  readonly #reading = new Set<string>()
  readonly #unsubscribe: () => void
  #available: boolean
  /** Operations whose views were dropped when the store went away, to read when it is back. */
  #missed: string[] = []
  /** Fleet state changes, with `scope: 'fleet'` and the operation. */
  readonly stateChanges = new Hook<StateChangeEvent>()

  constructor(
    name: string,
    store: BreakerStateStore,
    rule: FleetRule,
    isFailure: (error: UpstreamError) => boolean,
    clock: Clock,
  ) {
    this.#name = name
    this.#store = store
    this.#rule = {
      failureThreshold: rule.failureThreshold,
      windowMs: rule.windowMs,
      resetTimeoutMs: rule.resetTimeoutMs,
      rampLimit: rule.rampLimit,
    }
    this.#isFailure = isFailure
    this.#clock = clock
    this.#available = store.available
    this.#unsubscribe = store.subscribe(this.#onEvent)
  }

  /** The fleet state of `operation` as this replica knows it (`closed` when unknown). */
  state(operation: string): CircuitState {
    const view = this.#views.get(operation)
    if (view === undefined || !this.#available) return 'closed'
    return publicState(view.state)
  }

  /** Runs one attempt of `operation` under the fleet circuit, then through `run` (the local breaker). */
  execute(call: Call, attempt: Attempt, operation: string, run: AttemptFn): Promise<unknown> {
    if (!this.#available) return run(attempt)
    const view = this.#views.get(operation)
    if (view === undefined) {
      this.#learn(operation)
      return this.#closed(attempt, operation, run)
    }
    if (view.state === 'closed') return this.#closed(attempt, operation, run)
    if (view.state !== 'recovering') {
      const left = view.until - this.#clock.now()
      if (left > 0) {
        const reason =
          view.state === 'open'
            ? `is open in the fleet (operation ${operation})`
            : `is half-open in the fleet with a probe in flight (operation ${operation})`
        return Promise.reject(this.#openError(call, attempt, reason, Math.ceil(left)))
      }
    }
    return this.#permitted(call, attempt, operation, run)
  }

  /** Stops listening to the store. The store itself belongs to whoever created it. */
  shutdown(): void {
    this.#unsubscribe()
    this.#views.clear()
  }

  #closed(attempt: Attempt, operation: string, run: AttemptFn): Promise<unknown> {
    return run(attempt).catch((error: unknown) => {
      if (isUpstreamError(error) && this.#isFailure(error)) {
        // Not awaited: the caller's error does not wait for the fleet's bookkeeping.
        this.#ask(this.#store.recordFailure(this.#circuit(operation), this.#rule)).then((view) => {
          // Only an opening is news: a report cannot close the circuit, and a `closed` reply
          // may arrive after the event of an opening it preceded (replies and events travel on
          // two connections).
          if (view !== undefined && view.state !== 'closed') this.#apply(operation, view)
        })
      }
      throw error
    })
  }

  /** The probe (open past its reset time) or a ramp call (recovering): needs a permit. */
  async #permitted(
    call: Call,
    attempt: Attempt,
    operation: string,
    run: AttemptFn,
  ): Promise<unknown> {
    const circuit = this.#circuit(operation)
    const leaseMs =
      Math.max(0, Math.min(call.timeoutMs, call.deadlineAt - this.#clock.now())) + LEASE_MARGIN_MS
    const permit = await this.#ask(
      this.#store.acquire(circuit, this.#rule, Math.ceil(leaseMs)),
      (late) => {
        // Granted after this call stopped waiting: hand it back so the fleet need not wait
        // for the lease to expire before another replica may probe.
        if (late.granted)
          void this.#store.release(circuit, this.#rule, late.token, 'unused').catch(noop)
      },
    )
    // The store is away: this replica decides alone, on its local breaker.
    if (permit === undefined) return run(attempt)
    if (!permit.granted) {
      this.#apply(operation, permit.view)
      if (permit.view.state === 'closed') return this.#closed(attempt, operation, run)
      const reason =
        permit.view.state === 'recovering'
          ? `is recovering in the fleet and every ramp slot is taken (operation ${operation})`
          : permit.view.state === 'open'
            ? `is open in the fleet (operation ${operation})`
            : `is half-open in the fleet with a probe in flight (operation ${operation})`
      const retryAfterMs =
        permit.view.state === 'recovering'
          ? Math.min(1_000, this.#rule.resetTimeoutMs)
          : permit.view.retryAfterMs
      throw this.#openError(call, attempt, reason, Math.ceil(retryAfterMs))
    }
    if (permit.kind === 'probe')
      this.#apply(operation, { state: 'halfOpen', retryAfterMs: leaseMs })
    const settle = (outcome: FleetOutcome) => {
      this.#ask(this.#store.release(circuit, this.#rule, permit.token, outcome)).then((view) => {
        if (view !== undefined) this.#apply(operation, view)
      })
    }
    try {
      const value = await run(attempt)
      settle('success')
      return value
    } catch (error) {
      settle(outcomeOf(error, this.#isFailure))
      throw error
    }
  }

  /** Fetches the view of an operation met for the first time (or since the store came back). */
  #learn(operation: string): void {
    if (this.#reading.has(operation)) return
    this.#reading.add(operation)
    this.#ask(this.#store.read(this.#circuit(operation))).then((view) => {
      this.#reading.delete(operation)
      // An event may have arrived meanwhile; it is at least as new as this read.
      if (view !== undefined && !this.#views.has(operation)) this.#apply(operation, view)
    })
  }

  /**
   * Waits for the store at most {@link STORE_WAIT_MS}, and resolves `undefined` (never rejects)
   * when it failed or was too slow: the caller then goes on without the fleet. The operation's
   * view is kept: it may have come from a newer event, a slow answer says nothing against it,
   * and it ends by itself at its reset time (a store that is really away reports `unavailable`,
   * which drops every view).
   */
  #ask<T>(promise: Promise<T>, onLate?: (value: T) => void): Promise<T | undefined> {
    return new Promise<T | undefined>((resolve) => {
      let waiting = true
      const timer = this.#clock.setTimeout(() => {
        waiting = false
        resolve(undefined)
      }, STORE_WAIT_MS)
      promise.then(
        (value) => {
          if (!waiting) {
            onLate?.(value)
            return
          }
          this.#clock.clearTimeout(timer)
          resolve(value)
        },
        () => {
          this.#clock.clearTimeout(timer)
          resolve(undefined)
        },
      )
    })
  }

  readonly #onEvent = (event: BreakerStoreEvent): void => {
    if (event.type === 'state') {
      if (event.circuit.name === this.#name && this.#available) {
        this.#apply(event.circuit.operation, event.view)
      }
      return
    }
    const available = event.type === 'available'
    if (available === this.#available) return
    // Either way the views are stale: while the store was away nobody could update them, and
    // when it goes away nobody will. Back in fleet mode, the operations this replica knew are
    // read again at once, so an opening it missed stops it before its next call, not after.
    const known = [...new Set([...this.#views.keys(), ...this.#missed])]
    for (const operation of known) this.#forget(operation)
    this.#available = available
    this.#missed = available ? [] : known.slice(-MAX_VIEWS)
    if (available) for (const operation of known) this.#learn(operation)
  }

  #apply(operation: string, view: FleetView): void {
    const previous = this.#views.get(operation)
    const from = previous === undefined ? 'closed' : publicState(previous.state)
    if (previous === undefined && this.#views.size >= MAX_VIEWS) {
      const oldest = this.#views.keys().next().value
      if (oldest !== undefined) this.#views.delete(oldest)
    }
    this.#views.set(operation, {
      state: view.state,
      until: this.#clock.now() + Math.max(0, view.retryAfterMs),
    })
    this.#emit(operation, from, publicState(view.state))
  }

  #forget(operation: string): void {
    const previous = this.#views.get(operation)
    if (previous === undefined) return
    this.#views.delete(operation)
    this.#emit(operation, publicState(previous.state), 'closed')
  }

  #emit(operation: string, from: CircuitState, to: CircuitState): void {
    if (from !== to && this.stateChanges.active) {
      this.stateChanges.emit({ name: this.#name, from, to, operation, scope: 'fleet' })
    }
  }

  #circuit(operation: string): FleetCircuit {
    return { name: this.#name, operation }
  }

  #openError(call: Call, attempt: Attempt, reason: string, retryAfterMs: number): CircuitOpenError {
    return new CircuitOpenError({
      method: call.method,
      url: call.url,
      attempts: attempt.number - 1,
      breaker: this.#name,
      retryAfterMs,
      reason,
    })
  }
}

/** Private: ignores a rejection nobody waits for. */
function noop(): void {}

/** Private: the recovering ramp counts as closed, as the local breaker's ramp does. */
function publicState(state: FleetView['state']): CircuitState {
  return state === 'recovering' ? 'closed' : state
}

/**
 * Private: what an attempt under a permit proved. An answered non-failure (a 404, say) proves the
 * upstream is back; an abort, or the local breaker refusing the call, proves nothing.
 */
function outcomeOf(error: unknown, isFailure: (error: UpstreamError) => boolean): FleetOutcome {
  if (!isUpstreamError(error)) return 'unused'
  if (isFailure(error)) return 'failure'
  return error.status !== undefined ? 'success' : 'unused'
}

/**
 * @internal The fleet layer of each shared breaker (from `createCircuitBreaker` with a `store`),
 * keyed by its local policy, so every client given the handle uses the same fleet views.
 */
export const sharedFleets = new WeakMap<object, FleetBreakerPolicy>()
