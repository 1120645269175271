/**
 * `bench:variants`' switch: the service's OpenTelemetry setup with only some of its parts, so
 * each part's cost is measured alone. `BENCH_VARIANT`:
 * - `off`: no SDK (`OTEL_SDK_DISABLED=true`);
 * - `context`: the SDK started and an OpenTelemetry context entered per request (as the server
 *   span hook does), but no span and no trace ids in log lines;
 * - `span`: the SERVER spans, no trace ids in log lines;
 * - `shipped` (or unset): everything, as `pnpm start` runs it.
 */
import { context, createContextKey } from '@opentelemetry/api'

const variant = process.env.BENCH_VARIANT ?? 'shipped'
if (!['off', 'context', 'span', 'shipped'].includes(variant)) {
  throw new TypeError(`BENCH_VARIANT must be off, context, span or shipped, got ${variant}`)
}

/** The service's telemetry (from `dist/telemetry.js`) cut down to `BENCH_VARIANT`. */
export async function variantTelemetry(env) {
  if (variant === 'off') return undefined
  const { startTelemetry } = await import('../dist/telemetry.js')
  const telemetry = await startTelemetry({ ...env, OTEL_SDK_DISABLED: undefined })
  if (telemetry === undefined || variant === 'shipped') return telemetry
  const key = createContextKey('bench.variant')
  const entered = context.active().setValue(key, 1)
  return {
    ...telemetry,
    logFields: undefined,
    instrument:
      variant === 'span'
        ? telemetry.instrument
        : async (app) => {
            app.addHook('onRequest', (_request, _reply, done) => context.with(entered, done))
          },
  }
}
