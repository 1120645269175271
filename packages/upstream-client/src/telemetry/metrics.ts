import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
  ObservableCounter,
  ObservableGauge,
  ObservableUpDownCounter,
} from '@opentelemetry/api'
import type { CallState, CircuitState, ClientHooks } from '../hooks.js'
import type { Attachment, OpenTelemetryApi } from './api.js'
import { attr, DURATION_BUCKETS, errorType, metric, SCOPE } from './names.js'
import type { ClientInfo } from './tracing.js'

/**
 * @internal The breakers of a client, for the observable circuit gauges: one per operation
 * (`(other)` for the overflow breaker, `*` for a shared one).
 */
export type CircuitStates = () => Iterable<readonly [operation: string, state: CircuitState]>

/** @internal Calls waiting for a `maxInFlight` slot, per operation. */
export type Waiting = () => Iterable<readonly [operation: string, waiting: number]>

/** Private: the last ramp step seen per breaker. */
interface RampSnapshot {
  allowedInFlight: number
  queued: number
}

/** Private: a call with the slot the client keeps for its in-flight mark (`Call.metered`). */
type Metered = CallState & { metered?: boolean }

const STATES: readonly CircuitState[] = ['closed', 'open', 'halfOpen']

/** Private: the results of a cache lookup (`userevents.cache.result`). */
const LOOKUP_RESULTS = [
  'hit',
  'miss',
  'stale',
  'revalidated',
  'not_stored_no_store',
  'not_stored_private',
  'not_stored_vary_star',
] as const
type LookupResult = (typeof LOOKUP_RESULTS)[number]

/**
 * @internal Records the client's metrics from its hooks: `http.client.request.duration` per
 * attempt, with the semantic-convention attributes and bucket advice, and the
 * `userevents.client.*` instruments for what no convention covers. Observable gauges read the
 * breakers when the SDK collects; they are unregistered by `detach`.
 *
 * Returns `undefined` when no meter provider is registered (the API then hands out its no-op
 * meter), so the client subscribes to nothing here (`attachTelemetry` tries again once one is).
 */
export function attachMetrics(
  api: OpenTelemetryApi,
  hooks: ClientHooks,
  client: ClientInfo,
  circuitStates: CircuitStates,
  waiting: Waiting,
): Attachment | undefined {
  const meter: Meter = api.metrics.getMeter(SCOPE)
  if (meter === api.createNoopMeter()) return undefined
  const instruments = createInstruments(meter, api.ValueType)
  const state = new MetricState(client)
  const batch = (result: BatchObservableResult) =>
    observeGauges(result, instruments, state, circuitStates, waiting)
  const observables = [
    instruments.stateGauge,
    instruments.rampGauge,
    instruments.queuedGauge,
    instruments.inFlightGauge,
    instruments.cacheLookups,
  ]
  meter.addBatchObservableCallback(batch, observables)
  const { callStart, unsubscribe } = subscribeRecorders(hooks, instruments, state)
  return {
    callStart,
    detach: () => {
      for (const off of unsubscribe) off()
      meter.removeBatchObservableCallback(batch, observables)
    },
  }
}

/** Private: every instrument of a client. */
interface Instruments {
  duration: Histogram
  retries: Counter
  hedges: Counter
  cacheLookups: ObservableCounter
  coalesced: Counter
  rejections: Counter
  transitions: Counter
  inFlightGauge: ObservableUpDownCounter
  stateGauge: ObservableGauge
  rampGauge: ObservableGauge
  queuedGauge: ObservableGauge
}

/** Private: creates the instruments, with their descriptions, units and value types. */
function createInstruments(meter: Meter, ValueType: OpenTelemetryApi['ValueType']): Instruments {
  const counter = (name: string, description: string, unit: string): Counter =>
    meter.createCounter(name, { description, unit, valueType: ValueType.INT })
  const gauge = (name: string, description: string, unit: string): ObservableGauge =>
    meter.createObservableGauge(name, { description, unit, valueType: ValueType.INT })
  return {
    duration: meter.createHistogram(metric.requestDuration, {
      description: 'Duration of HTTP client requests (one per attempt).',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    retries: counter(
      metric.retries,
      'Retries scheduled, by the error.type of the failed attempt.',
      '{retry}',
    ),
    hedges: counter(
      metric.hedges,
      'Hedged requests, by result: sent (a hedge attempt was dispatched) and won (it answered first).',
      '{hedge}',
    ),
    // Observed, not added per lookup: a cache hit is the whole call, and a synchronous record
    // (the SDK hashes its attributes) would cost more than the hit; counted in `MetricState` and
    // read only when the SDK collects. Exported the same way: a monotonic sum.
    cacheLookups: meter.createObservableCounter(metric.cacheLookups, {
      description:
        'GET cache lookups, by result: hit (fresh), revalidated (304), stale, miss, or not_stored_<reason>.',
      unit: '{lookup}',
      valueType: ValueType.INT,
    }),
    coalesced: counter(
      metric.coalesced,
      'GET calls answered by an identical call already in flight.',
      '{call}',
    ),
    rejections: counter(
      metric.circuitRejections,
      'Calls failed fast by an open (or recovering) circuit.',
      '{call}',
    ),
    transitions: counter(
      metric.circuitTransitions,
      'Circuit state changes, by breaker, from and to.',
      '{transition}',
    ),
    // An observable, not an UpDownCounter: two synchronous records per call (each one hashes its
    // attributes in the SDK) cost more than the rest of the call; a count per operation is read
    // only when the SDK collects.
    inFlightGauge: meter.createObservableUpDownCounter(metric.inFlight, {
      description: 'Calls started and not yet settled (waits and retries included).',
      unit: '{call}',
      valueType: ValueType.INT,
    }),
    stateGauge: gauge(
      metric.circuitState,
      'Circuit state per breaker: 1 for the current state, 0 for the others.',
      '{state}',
    ),
    rampGauge: gauge(
      metric.rampAllowance,
      'Calls a recovering breaker allows in flight (only while its ramp runs).',
      '{call}',
    ),
    queuedGauge: gauge(
      metric.queued,
      'Calls waiting: for a maxInFlight slot (queue "bulkhead"), or in the recovery ramp of a breaker as of its last step (queue "ramp").',
      '{call}',
    ),
  }
}

/** Private: what the recorders and the gauges share, and the reused attribute sets. */
class MetricState {
  /** The last ramp step per operation, while its breaker ramps. */
  readonly ramps = new Map<string, RampSnapshot>()
  readonly inFlight = new Map<string, number>()
  /** Cache lookups per operation and result, since the recorders attached. */
  readonly lookups = new Map<string, Record<LookupResult, number>>()
  /** Attribute sets are reused: one per operation (and status), not one per call. */
  readonly #attributes = new Map<string, Attributes>()
  readonly #base: Attributes
  readonly #server: Attributes

  constructor(client: ClientInfo) {
    this.#base = { [attr.client]: client.name }
    this.#server = {
      [attr.serverAddress]: client.serverAddress,
      [attr.serverPort]: client.serverPort,
    }
  }

  cached(key: string, build: () => Attributes): Attributes {
    let value = this.#attributes.get(key)
    if (value === undefined) {
      // Bounded by the operations and statuses a client sees; the guard keeps a client fed with
      // unbounded paths from growing it without limit (the attributes are then rebuilt per use).
      value = build()
      if (this.#attributes.size < 1_000) this.#attributes.set(key, value)
    }
    return value
  }

  ofOperation(operation: string): Attributes {
    return this.cached(operation, () => ({ ...this.#base, [attr.operation]: operation }))
  }

  /** The attributes of one `http.client.request.duration` point. */
  ofAttempt(method: string, status: number | undefined, error: string | undefined): Attributes {
    return this.cached(`${method} ${status} ${error}`, () => {
      const a: Attributes = { ...this.#server, [attr.method]: method }
      if (status !== undefined) a[attr.status] = status
      if (error !== undefined) a[attr.errorType] = error
      return a
    })
  }
}

/** Private: the batch observer of the gauges, run when the SDK collects. */
function observeGauges(
  result: BatchObservableResult,
  instruments: Instruments,
  state: MetricState,
  circuitStates: CircuitStates,
  waiting: Waiting,
): void {
  const { stateGauge, inFlightGauge, queuedGauge, rampGauge, cacheLookups } = instruments
  for (const [operation, current] of circuitStates()) {
    for (const s of STATES) {
      result.observe(stateGauge, s === current ? 1 : 0, {
        ...state.ofOperation(operation),
        [attr.circuitState]: s,
      })
    }
  }
  for (const [operation, count] of state.inFlight)
    result.observe(inFlightGauge, count, state.ofOperation(operation))
  for (const [operation, counts] of state.lookups) {
    for (const r of LOOKUP_RESULTS) {
      // Only results seen, as a counter added to would export them.
      if (counts[r] === 0) continue
      const attributes = state.cached(`${operation}\n${r}`, () => ({
        ...state.ofOperation(operation),
        [attr.cacheResult]: r,
      }))
      result.observe(cacheLookups, counts[r], attributes)
    }
  }
  for (const [operation, count] of waiting()) {
    result.observe(queuedGauge, count, {
      ...state.ofOperation(operation),
      [attr.queue]: 'bulkhead',
    })
  }
  for (const [operation, ramp] of state.ramps) {
    const attributes = state.ofOperation(operation)
    result.observe(rampGauge, ramp.allowedInFlight, attributes)
    result.observe(queuedGauge, ramp.queued, { ...attributes, [attr.queue]: 'ramp' })
  }
}

/** Private: subscribes the synchronous recorders to the hooks. */
function subscribeRecorders(
  hooks: ClientHooks,
  instruments: Instruments,
  state: MetricState,
): { callStart: (call: CallState) => void; unsubscribe: (() => void)[] } {
  const { duration, retries, hedges, coalesced, rejections, transitions } = instruments
  const callStart = (call: CallState) => {
    // The calls counted in `inFlight` (the call's `metered` slot): with a late-registered SDK the
    // recorders attach while calls started before are in flight; their end must not be
    // subtracted from a count that never had them.
    ;(call as Metered).metered = true
    state.inFlight.set(call.operation, (state.inFlight.get(call.operation) ?? 0) + 1)
  }
  const lookup = (operation: string, result: LookupResult) => {
    let counts = state.lookups.get(operation)
    if (counts === undefined) {
      counts = Object.fromEntries(LOOKUP_RESULTS.map((r) => [r, 0])) as Record<LookupResult, number>
      state.lookups.set(operation, counts)
    }
    counts[result]++
  }
  const unsubscribe = [
    hooks.callStart.subscribe(callStart),
    hooks.callEnd.subscribe((event) => {
      const operation = event.call.operation
      const call = event.call as Metered
      if (call.metered === true) {
        call.metered = false
        state.inFlight.set(operation, (state.inFlight.get(operation) as number) - 1)
      }
      if ((event.error as { code?: unknown } | undefined)?.code === 'UPSTREAM_CIRCUIT_OPEN') {
        rejections.add(1, state.ofOperation(operation))
      }
    }),
    hooks.response.subscribe((event) => {
      const error = event.status >= 400 ? String(event.status) : undefined
      duration.record(event.durationMs / 1000, state.ofAttempt(event.method, event.status, error))
    }),
    hooks.attemptError.subscribe((event) => {
      // A status error or a bad 2xx body follows a response event, which recorded the attempt.
      const code = event.error.code
      if (code === 'UPSTREAM_HTTP_STATUS' || code === 'UPSTREAM_INVALID_BODY') return
      const attributes = state.ofAttempt(event.method, event.error.status, errorType(event.error))
      duration.record(event.durationMs / 1000, attributes)
    }),
    hooks.retry.subscribe((event) => {
      const operation = event.call.operation
      const reason = errorType(event.error)
      retries.add(
        1,
        state.cached(`${operation}\n${reason}`, () => ({
          ...state.ofOperation(operation),
          [attr.errorType]: reason,
        })),
      )
    }),
    hooks.hedge.subscribe((event) => {
      if (event.type !== 'sent' && event.type !== 'won') return
      const operation = event.call.operation
      hedges.add(
        1,
        state.cached(`${operation}\nhedge ${event.type}`, () => ({
          ...state.ofOperation(operation),
          [attr.hedgeResult]: event.type,
        })),
      )
    }),
    hooks.cacheHit.subscribe((event) =>
      lookup(event.call.operation, event.state === 'fresh' ? 'hit' : event.state),
    ),
    hooks.cacheMiss.subscribe((event) => lookup(event.call.operation, 'miss')),
    hooks.cacheNotStored.subscribe((event) =>
      lookup(event.call.operation, `not_stored_${event.reason.replace('-', '_')}` as LookupResult),
    ),
    hooks.coalesced.subscribe((event) => coalesced.add(1, state.ofOperation(event.call.operation))),
    hooks.stateChange.subscribe((event) => {
      transitions.add(1, {
        ...state.ofOperation(event.operation),
        [attr.circuitFrom]: event.from,
        [attr.circuitTo]: event.to,
      })
    }),
    hooks.rampChange.subscribe((event) => {
      if (event.phase === 'finished' || event.phase === 'aborted')
        state.ramps.delete(event.operation)
      else {
        state.ramps.set(event.operation, {
          allowedInFlight: event.allowedInFlight,
          queued: event.queued,
        })
      }
    }),
  ]
  return { callStart, unsubscribe }
}
