import type {
  Attributes,
  BatchObservableResult,
  Counter,
  Histogram,
  Meter,
} from '@opentelemetry/api'
import type { CircuitState, ClientHooks } from '../hooks.js'
import type { OpenTelemetryApi } from './api.js'
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

const STATES: readonly CircuitState[] = ['closed', 'open', 'halfOpen']

/**
 * @internal Records the client's metrics from its hooks: `http.client.request.duration` per
 * attempt, with the semantic-convention attributes and bucket advice, and the
 * `userevents.client.*` instruments for what no convention covers. Observable gauges read the
 * breakers when the SDK collects; they are unregistered by the returned function.
 *
 * Returns `undefined` when no meter provider is registered (the API then hands out its no-op
 * meter), so the client subscribes to nothing.
 */
export function attachMetrics(
  api: OpenTelemetryApi,
  hooks: ClientHooks,
  client: ClientInfo,
  circuitStates: CircuitStates,
  waiting: Waiting,
): (() => void) | undefined {
  const meter: Meter = api.metrics.getMeter(SCOPE)
  if (meter === api.createNoopMeter()) return undefined
  const { ValueType } = api
  const duration: Histogram = meter.createHistogram(metric.requestDuration, {
    description: 'Duration of HTTP client requests (one per attempt).',
    unit: 's',
    advice: { explicitBucketBoundaries: DURATION_BUCKETS },
  })
  const retries: Counter = meter.createCounter(metric.retries, {
    description: 'Retries scheduled, by the error.type of the failed attempt.',
    unit: '{retry}',
    valueType: ValueType.INT,
  })
  const cacheLookups: Counter = meter.createCounter(metric.cacheLookups, {
    description: 'GET cache lookups, by result: hit, miss, or stale (served after a failure).',
    unit: '{lookup}',
    valueType: ValueType.INT,
  })
  const coalesced: Counter = meter.createCounter(metric.coalesced, {
    description: 'GET calls answered by an identical call already in flight.',
    unit: '{call}',
    valueType: ValueType.INT,
  })
  const rejections: Counter = meter.createCounter(metric.circuitRejections, {
    description: 'Calls failed fast by an open (or recovering) circuit.',
    unit: '{call}',
    valueType: ValueType.INT,
  })
  const transitions: Counter = meter.createCounter(metric.circuitTransitions, {
    description: 'Circuit state changes, by breaker, from and to.',
    unit: '{transition}',
    valueType: ValueType.INT,
  })
  // An observable, not an UpDownCounter: two synchronous records per call (each one hashes its
  // attributes in the SDK) cost more than the rest of the call; a count per operation is read
  // only when the SDK collects.
  const inFlightGauge = meter.createObservableUpDownCounter(metric.inFlight, {
    description: 'Calls started and not yet settled (waits and retries included).',
    unit: '{call}',
    valueType: ValueType.INT,
  })
  const stateGauge = meter.createObservableGauge(metric.circuitState, {
    description: 'Circuit state per breaker: 1 for the current state, 0 for the others.',
    unit: '{state}',
    valueType: ValueType.INT,
  })
  const rampGauge = meter.createObservableGauge(metric.rampAllowance, {
    description: 'Calls a recovering breaker allows in flight (only while its ramp runs).',
    unit: '{call}',
    valueType: ValueType.INT,
  })
  const queuedGauge = meter.createObservableGauge(metric.queued, {
    description:
      'Calls waiting: for a maxInFlight slot (queue "bulkhead"), or in the recovery ramp of a breaker as of its last step (queue "ramp").',
    unit: '{call}',
    valueType: ValueType.INT,
  })

  const base = { [attr.client]: client.name }
  const server = {
    [attr.serverAddress]: client.serverAddress,
    [attr.serverPort]: client.serverPort,
  }
  /** The last ramp step per operation, while its breaker ramps. */
  const ramps = new Map<string, RampSnapshot>()
  const inFlight = new Map<string, number>()
  /** Attribute sets are reused: one per operation (and status), not one per call. */
  const attributeCache = new Map<string, Attributes>()
  const cached = (key: string, build: () => Attributes): Attributes => {
    let value = attributeCache.get(key)
    if (value === undefined) {
      // Bounded by the operations and statuses a client sees; the guard keeps a client fed with
      // unbounded paths from growing it without limit (the attributes are then rebuilt per use).
      value = build()
      if (attributeCache.size < 1_000) attributeCache.set(key, value)
    }
    return value
  }
  const ofOperation = (operation: string): Attributes =>
    cached(operation, () => ({ ...base, [attr.operation]: operation }))

  const batch = (result: BatchObservableResult) => {
    for (const [operation, state] of circuitStates()) {
      for (const s of STATES) {
        result.observe(stateGauge, s === state ? 1 : 0, {
          ...ofOperation(operation),
          [attr.circuitState]: s,
        })
      }
    }
    for (const [operation, count] of inFlight)
      result.observe(inFlightGauge, count, ofOperation(operation))
    for (const [operation, count] of waiting()) {
      result.observe(queuedGauge, count, { ...ofOperation(operation), [attr.queue]: 'bulkhead' })
    }
    for (const [operation, ramp] of ramps) {
      const attributes = ofOperation(operation)
      result.observe(rampGauge, ramp.allowedInFlight, attributes)
      result.observe(queuedGauge, ramp.queued, { ...attributes, [attr.queue]: 'ramp' })
    }
  }
  const observables = [stateGauge, rampGauge, queuedGauge, inFlightGauge]
  meter.addBatchObservableCallback(batch, observables)

  const recordDuration = (
    method: string,
    status: number | undefined,
    error: string | undefined,
    durationMs: number,
  ) => {
    const attributes = cached(`${method} ${status} ${error}`, () => {
      const a: Attributes = { ...server, [attr.method]: method }
      if (status !== undefined) a[attr.status] = status
      if (error !== undefined) a[attr.errorType] = error
      return a
    })
    duration.record(durationMs / 1000, attributes)
  }

  const unsubscribe = [
    hooks.callStart.subscribe((call) => {
      const operation = call.operation
      inFlight.set(operation, (inFlight.get(operation) ?? 0) + 1)
    }),
    hooks.callEnd.subscribe((event) => {
      const operation = event.call.operation
      inFlight.set(operation, (inFlight.get(operation) as number) - 1)
      if ((event.error as { code?: unknown } | undefined)?.code === 'UPSTREAM_CIRCUIT_OPEN') {
        rejections.add(1, ofOperation(operation))
      }
    }),
    hooks.response.subscribe((event) => {
      recordDuration(
        event.method,
        event.status,
        event.status >= 400 ? String(event.status) : undefined,
        event.durationMs,
      )
    }),
    hooks.attemptError.subscribe((event) => {
      // A status error or a bad 2xx body follows a response event, which recorded the attempt.
      const code = event.error.code
      if (code === 'UPSTREAM_HTTP_STATUS' || code === 'UPSTREAM_INVALID_BODY') return
      recordDuration(event.method, event.error.status, errorType(event.error), event.durationMs)
    }),
    hooks.retry.subscribe((event) => {
      const operation = event.call.operation
      const reason = errorType(event.error)
      retries.add(
        1,
        cached(`${operation}\n${reason}`, () => ({
          ...ofOperation(operation),
          [attr.errorType]: reason,
        })),
      )
    }),
    hooks.cacheHit.subscribe((event) => {
      const operation = event.call.operation
      const result = event.stale ? 'stale' : 'hit'
      cacheLookups.add(
        1,
        cached(`${operation}\n${result}`, () => ({
          ...ofOperation(operation),
          [attr.cacheResult]: result,
        })),
      )
    }),
    hooks.cacheMiss.subscribe((event) => {
      const operation = event.call.operation
      cacheLookups.add(
        1,
        cached(`${operation}\nmiss`, () => ({
          ...ofOperation(operation),
          [attr.cacheResult]: 'miss',
        })),
      )
    }),
    hooks.coalesced.subscribe((event) => coalesced.add(1, ofOperation(event.call.operation))),
    hooks.stateChange.subscribe((event) => {
      transitions.add(1, {
        ...ofOperation(event.operation),
        [attr.circuitFrom]: event.from,
        [attr.circuitTo]: event.to,
      })
    }),
    hooks.rampChange.subscribe((event) => {
      if (event.phase === 'finished' || event.phase === 'aborted') ramps.delete(event.operation)
      else {
        ramps.set(event.operation, { allowedInFlight: event.allowedInFlight, queued: event.queued })
      }
    }),
  ]
  return () => {
    for (const off of unsubscribe) off()
    meter.removeBatchObservableCallback(batch, observables)
  }
}
