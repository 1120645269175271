import { checks, fail } from '../checks.js'

/**
 * OpenTelemetry options of a client; `telemetry: false` turns all of it off. OpenTelemetry is
 * used only when `@opentelemetry/api` is installed **and** an SDK has registered a tracer or
 * meter provider by the time the client is created (start the SDK first, as OpenTelemetry's own
 * instrumentations require); otherwise the client skips it entirely and pays nothing per call.
 */
export interface TelemetryOptions {
  /** An INTERNAL span per call and a CLIENT span per attempt. Default true. */
  traces?: boolean
  /**
   * Inject the trace context (`traceparent`, `tracestate`, baggage: whatever the global
   * propagator writes) into each attempt's headers. Only with `traces`. Default true.
   */
  propagate?: boolean
  /** `http.client.request.duration` and the `userevents.client.*` instruments. Default true. */
  metrics?: boolean
}

/** @internal Telemetry options after validation; `false` when turned off. */
export type ResolvedTelemetryOptions = Required<TelemetryOptions> | false

const KEYS = ['traces', 'propagate', 'metrics'] as const

/** @internal Validates the `telemetry` option, quoting a bad value. */
export function resolveTelemetryOptions(
  option: TelemetryOptions | false | undefined,
): ResolvedTelemetryOptions {
  if (option === false) return false
  if (option === undefined) return { traces: true, propagate: true, metrics: true }
  if (typeof option !== 'object' || option === null) {
    fail('telemetry', 'an object or false', option)
  }
  checks.rejectUnknown('telemetry.', option, KEYS)
  const resolved = { traces: true, propagate: true, metrics: true }
  for (const key of KEYS) {
    const value = option[key]
    if (value === undefined) continue
    if (typeof value !== 'boolean') {
      fail(`telemetry.${key}`, 'a boolean', value)
    }
    resolved[key] = value
  }
  return resolved
}
