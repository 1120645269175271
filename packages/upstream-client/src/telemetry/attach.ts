import type { ClientHooks } from '../hooks.js'
import { type Attachment, loadOpenTelemetryApi, type OpenTelemetryApi } from './api.js'
import { attachMetrics, type CircuitStates, type Waiting } from './metrics.js'
import type { ResolvedTelemetryOptions } from './options.js'
import { attachTracing, type ClientInfo } from './tracing.js'

/**
 * @internal Attaches OpenTelemetry to a client's hooks, as `attachLogger` attaches pino: the
 * only place the client talks to OpenTelemetry. Returns the function that detaches it (called by
 * `close()`), or `undefined` when there is nothing to attach: telemetry turned off, or the API
 * not installed (then nothing is loaded and no listener is added).
 *
 * With the API installed and no SDK registered yet, a signal is not attached; instead one
 * `callStart` listener checks, per call, whether a provider has been registered since (a few
 * property reads on the API's global registry, no allocation) and attaches the signal then.
 * So a client created before `sdk.start()` (a module imported before the telemetry file) is
 * traced and metered from its first call after the SDK starts. Why not rely on the API's own
 * proxy: a `ProxyTracer` taken early does delegate after a late registration, but there is no
 * proxy meter in `@opentelemetry/api` 1.9, and a listener set subscribed against a proxy would
 * pay for non-recording spans on every call while no SDK is registered.
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
  const info = clientInfo(client)
  const attached: Attachment[] = []
  const pending: Signal[] = []
  if (options.traces) {
    pending.push({
      registered: tracerRegistration(api),
      attach: () => attachTracing(api, hooks, info, options.propagate),
    })
  }
  if (options.metrics) {
    pending.push({
      registered: meterRegistration(api),
      attach: () => attachMetrics(api, hooks, info, circuitStates, waiting),
    })
  }
  // Signals whose provider is registered already attach now: no gate, no per-call check.
  for (const signal of pending.splice(0)) {
    const attachment = signal.attach()
    if (attachment === undefined) pending.push(signal)
    else attached.push(attachment)
  }
  let stopWatching: (() => void) | undefined
  if (pending.length > 0) {
    const registry = registryWatch()
    stopWatching = hooks.callStart.subscribe((call) => {
      // The per-call cost while no SDK is registered: three property reads.
      if (!registry.changed()) return
      registry.snapshot()
      for (let i = pending.length - 1; i >= 0; i--) {
        const signal = pending[i] as Signal
        if (!signal.registered()) continue
        const attachment = signal.attach()
        if (attachment === undefined) continue
        pending.splice(i, 1)
        attached.push(attachment)
        attachment.callStart(call)
      }
      if (pending.length === 0) stopWatching?.()
    })
  }
  return () => {
    stopWatching?.()
    for (const a of attached) a.detach()
  }
}

/**
 * Private: a cheap first check, per call, of the API's global registry: the object that every
 * copy of `@opentelemetry/api` 1.x keeps under `Symbol.for('opentelemetry.js.api.1')` (the major
 * is part of the key, and the client's peer range is ^1.9) and into which a registration writes
 * its provider (`trace`, `metrics`). Only when a slot changed do the signals' own checks run (a
 * provider lookup each, with the API's version check), so a client waiting for a late SDK costs
 * three property reads per call instead of two provider lookups.
 */
function registryWatch(): { changed(): boolean; snapshot(): void } {
  const slots = () =>
    (globalThis as Record<symbol, { trace?: unknown; metrics?: unknown } | undefined>)[REGISTRY]
  let trace: unknown
  let metrics: unknown
  const snapshot = () => {
    const registry = slots()
    trace = registry?.trace
    metrics = registry?.metrics
  }
  snapshot()
  return {
    changed() {
      const registry = slots()
      return registry !== undefined && (registry.trace !== trace || registry.metrics !== metrics)
    },
    snapshot,
  }
}

/** Private: the key of the API's global registry for major version 1 (see `registryWatch`). */
const REGISTRY = Symbol.for('opentelemetry.js.api.1')

/** Private: one signal still waiting for its provider. */
interface Signal {
  /** Cheap: has a provider been registered since the client was created? */
  registered(): boolean
  /** Attaches the signal, or `undefined` when it still finds no provider. */
  attach(): Attachment | undefined
}

/** Private: the client's name and server attributes. */
function clientInfo(client: { name: string; origin: string }): ClientInfo {
  const url = new URL(client.origin)
  return {
    name: client.name,
    // `URL` keeps the brackets of an IPv6 literal; `server.address` is the bare address.
    serverAddress: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    serverPort: url.port === '' ? (url.protocol === 'https:' ? 443 : 80) : Number(url.port),
  }
}

/**
 * Private: whether a tracer provider has been registered since this was called. Unregistered,
 * the API answers its own `ProxyTracerProvider` with no delegate; a registration through the same
 * API copy gives that proxy a delegate, one through another copy (or after `trace.disable()`)
 * makes the API answer another provider object. Both are identity checks.
 */
function tracerRegistration(api: OpenTelemetryApi): () => boolean {
  const initial = api.trace.getTracerProvider()
  const initialDelegate =
    initial instanceof api.ProxyTracerProvider ? initial.getDelegate() : undefined
  return () => {
    const provider = api.trace.getTracerProvider()
    return (
      provider !== initial ||
      (initialDelegate !== undefined &&
        (provider as InstanceType<OpenTelemetryApi['ProxyTracerProvider']>).getDelegate() !==
          initialDelegate)
    )
  }
}

/**
 * Private: whether a meter provider has been registered since this was called. The API answers
 * its no-op provider until one is, and there is no proxy: the registered one is a new object.
 */
function meterRegistration(api: OpenTelemetryApi): () => boolean {
  const initial = api.metrics.getMeterProvider()
  return () => api.metrics.getMeterProvider() !== initial
}
