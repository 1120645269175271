// Aliased: bundles commonly prepend `const require = createRequire(import.meta.url)` with their own
// `createRequire` import (esbuild banners), which a second top-level `createRequire` would clash with.
import { createRequire as requireFromHere } from 'node:module'
import type * as OpenTelemetry from '@opentelemetry/api'
import type { CallState } from '../hooks.js'

/** @internal The `@opentelemetry/api` module, when the application has it installed. */
export type OpenTelemetryApi = typeof OpenTelemetry

/**
 * @internal What attaching one signal (traces or metrics) to a client's hooks gives back:
 * `detach` unsubscribes it; `callStart` is its `callStart` listener, for the call during which a
 * late-registered SDK was noticed (that call's `callStart` was already being emitted when the
 * listener was subscribed, so it would otherwise miss it).
 */
export interface Attachment {
  detach(): void
  callStart(call: CallState): void
}

/** Private: `undefined` until the first lookup, `null` when the API is not installed. */
let api: OpenTelemetryApi | null | undefined

/**
 * @internal Loads `@opentelemetry/api`, an optional peer dependency, on the first client that
 * wants telemetry, and remembers the answer. `require()` (not `import()`) keeps client creation
 * synchronous; the API's state lives on a `globalThis` symbol, so this CommonJS copy sees the
 * providers an application registered through the ESM one. Without the package installed the
 * client simply has no telemetry: nothing else changes.
 */
export function loadOpenTelemetryApi(): OpenTelemetryApi | undefined {
  if (api === undefined) {
    try {
      api = requireFromHere(import.meta.url)('@opentelemetry/api') as OpenTelemetryApi
    } catch {
      api = null
    }
  }
  return api ?? undefined
}
