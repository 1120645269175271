import type { ClientHooks } from '../hooks.js'
import { loadOpenTelemetryApi } from './api.js'
import { attachMetrics, type CircuitStates, type Waiting } from './metrics.js'
import type { ResolvedTelemetryOptions } from './options.js'
import { attachTracing } from './tracing.js'

/**
 * @internal Attaches OpenTelemetry to a client's hooks, as `attachLogger` attaches pino: the
 * only place the client talks to OpenTelemetry. Returns the function that detaches it (called by
 * `close()`), or `undefined` when there is nothing to attach: telemetry turned off, the API not
 * installed, or no SDK registered. In each of those cases no listener is added, so the hot path
 * does exactly what it does without OpenTelemetry.
 */
export function attachTelemetry(
  options: ResolvedTelemetryOptions,
  hooks: ClientHooks,
  client: { name: string; origin: string },
  circuitStates: CircuitStates,
  waiting: Waiting,
): (() => void) | undefined {
  if (options === false || (!options.traces && !options.metrics)) return undefined
  const api = loadOpenTelemetryApi()
  if (api === undefined) return undefined
  const url = new URL(client.origin)
  const info = {
    name: client.name,
    // `URL` keeps the brackets of an IPv6 literal; `server.address` is the bare address.
    serverAddress: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    serverPort: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
  }
  const detach = [
    options.traces ? attachTracing(api, hooks, info, options.propagate) : undefined,
    options.metrics ? attachMetrics(api, hooks, info, circuitStates, waiting) : undefined,
  ].filter((d) => d !== undefined)
  if (detach.length === 0) return undefined
  return () => {
    for (const d of detach) d()
  }
}
