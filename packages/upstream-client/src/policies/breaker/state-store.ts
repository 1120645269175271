/**
 * The seam between the client's circuit breaker and a fleet-wide breaker state shared by every
 * replica of a service (for example in Redis, `@userevents/redis`). The client owns the local
 * breaker and the composition; a {@link BreakerStateStore} only answers a few atomic questions
 * about one circuit (one operation of one upstream), so any backend can implement it.
 */

/**
 * The brand every {@link BreakerStateStore} carries in its `kind` field, like the shared cache
 * store's. A string, not a symbol, so the types of two installed copies of this package agree as
 * well as their runtime checks; the version suffix tells a future, incompatible contract apart.
 */
export const breakerStateStoreKind = 'userevents.breaker-state-store.v1'

/** Names one circuit of the fleet: one operation of one upstream (breaker group). */
export interface FleetCircuit {
  /** The breaker (group) name: the client's `name`, or a shared breaker's name. */
  readonly name: string
  /** The operation key, e.g. `getUserById` or `GET /getUserById/{id}`. */
  readonly operation: string
}

/**
 * The trip and recovery rule a replica asks the store to apply, taken from its `breaker`
 * options. Every replica of a fleet should use the same rule.
 */
export interface FleetRule {
  /** Failures inside `windowMs` (from enough distinct replicas) that open the fleet circuit. */
  readonly failureThreshold: number
  /** Length of the failure window, in ms. */
  readonly windowMs: number
  /** Time the fleet circuit stays open before one replica may send the half-open probe, in ms. */
  readonly resetTimeoutMs: number
  /** The fleet-wide ramp ends once its allowance, doubling per success from 2, reaches this. */
  readonly rampLimit: number
}

/**
 * State of a fleet circuit:
 * - `closed`: calls flow; failures are reported;
 * - `open`: every replica fails fast for `retryAfterMs`, then one replica may lease the probe;
 * - `halfOpen`: a replica holds the probe lease (for at most `retryAfterMs` more);
 * - `recovering`: the probe succeeded; each call takes a slot of the fleet-wide ramp.
 */
export type FleetCircuitState = 'closed' | 'open' | 'halfOpen' | 'recovering'

/** What the store knows about one fleet circuit. */
export interface FleetView {
  /** See {@link FleetCircuitState}. */
  readonly state: FleetCircuitState
  /** `open`: ms until the probe may be leased; `halfOpen`: ms until the lease expires; else 0. */
  readonly retryAfterMs: number
}

/**
 * The answer to {@link BreakerStateStore.acquire}: a permit (the probe lease, or a ramp slot)
 * that must be handed back to {@link BreakerStateStore.release}, or the view that refused it.
 */
export type FleetPermit =
  | { readonly granted: true; readonly kind: 'probe' | 'ramp'; readonly token: string }
  | { readonly granted: false; readonly view: FleetView }

/**
 * How the attempt run under a permit ended: `success` (the upstream answered, any non-failure),
 * `failure` (counted by the breaker's `isFailure`), or `unused` (aborted, or refused by the local
 * breaker: nothing was learned about the upstream, so the lease goes back unused).
 */
export type FleetOutcome = 'success' | 'failure' | 'unused'

/**
 * Events a store emits to the replicas: a circuit changed state (published by whichever replica
 * changed it), or the backend became unreachable or reachable again.
 */
export type BreakerStoreEvent =
  | { readonly type: 'state'; readonly circuit: FleetCircuit; readonly view: FleetView }
  | { readonly type: 'unavailable' }
  | { readonly type: 'available' }

/**
 * A fleet-wide breaker state, shared by every replica of a service and consulted per operation by
 * the client's breaker (`breaker.store`). The client keeps its own local breaker (a replica still
 * opens on its own failures); the store adds the fleet's rule on top:
 *
 * - failures are reported with {@link recordFailure}; the store opens the fleet circuit by its
 *   own rule (for example a quorum of distinct replicas) and tells every replica through
 *   {@link subscribe};
 * - a replica that finds the circuit open past its reset time asks {@link acquire} for the single
 *   probe lease, and during the fleet-wide ramp for a ramp slot; it hands the permit back with
 *   {@link release} and the outcome;
 * - the closed state costs nothing: no store round trip on a successful call.
 *
 * Every method must settle quickly and reject (never hang) when the backend is away; the client
 * also bounds each wait and then falls back to its local breaker alone, until the store emits
 * `available`. A store is created by its package (for example `createRedisBreakerStore`) and
 * carries the {@link breakerStateStoreKind} brand; {@link isBreakerStateStore} checks it.
 */
export interface BreakerStateStore {
  /** The brand, always {@link breakerStateStoreKind}; see {@link isBreakerStateStore}. */
  readonly kind: typeof breakerStateStoreKind
  /** Whether the backend is believed reachable; the client uses the store only while it is. */
  readonly available: boolean
  /** The current fleet view of `circuit` (used when a replica first meets an operation). */
  read(circuit: FleetCircuit): Promise<FleetView>
  /** Reports one failure of `circuit` seen by this replica; resolves the fleet view after it. */
  recordFailure(circuit: FleetCircuit, rule: FleetRule): Promise<FleetView>
  /**
   * Asks for the probe lease (circuit open past its reset time) or a ramp slot (recovering),
   * held for at most `leaseMs`; otherwise resolves the view that refused it.
   */
  acquire(circuit: FleetCircuit, rule: FleetRule, leaseMs: number): Promise<FleetPermit>
  /** Returns a permit with the outcome of its attempt; resolves the fleet view after it. */
  release(
    circuit: FleetCircuit,
    rule: FleetRule,
    token: string,
    outcome: FleetOutcome,
  ): Promise<FleetView>
  /** Calls `listener` for every event; returns an unsubscribe function. */
  subscribe(listener: (event: BreakerStoreEvent) => void): () => void
}

/**
 * True when `value` is a {@link BreakerStateStore} (from any installed copy of this package):
 * checks the `kind` brand and the methods, not `instanceof`.
 */
export function isBreakerStateStore(value: unknown): value is BreakerStateStore {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Record<string, unknown>
  return (
    v.kind === breakerStateStoreKind &&
    ['read', 'recordFailure', 'acquire', 'release', 'subscribe'].every(
      (m) => typeof v[m] === 'function',
    )
  )
}
