/**
 * `bench:variants`' switch: the service's OpenTelemetry setup with only some of its parts, so
 * each part's cost is measured alone. `BENCH_VARIANT`:
 * - `off`: no SDK (`OTEL_SDK_DISABLED=true`);
 * - `enabled`: the SDK started and its context manager switched on once (as any `context.with`
 *   does), but no context entered per request, no span, no trace ids in log lines;
 * - `context`: the SDK started and an OpenTelemetry context entered per request (as the server
 *   span hook does), but no span and no trace ids in log lines;
 * - `spanonly`: a SERVER span started and ended per request, never made the active context;
 * - `span`: the SERVER spans, no trace ids in log lines;
 * - `shipped` (or unset): everything, as `pnpm start` runs it.
 */
import { context, createContextKey, SpanKind, trace } from '@opentelemetry/api'

/** Every variant, from nothing to everything. */
export const VARIANTS = ['off', 'enabled', 'context', 'spanonly', 'span', 'shipped']
const variant = process.env.BENCH_VARIANT ?? 'shipped'
if (!VARIANTS.includes(variant)) {
  throw new TypeError(`BENCH_VARIANT must be one of ${VARIANTS.join(', ')}, got ${variant}`)
}

/** The service's telemetry (from `dist/telemetry.js`) cut down to `BENCH_VARIANT`. */
export async function variantTelemetry(env) {
  if (variant === 'off') return undefined
  const { startTelemetry } = await import('../dist/telemetry.js')
  const telemetry = await startTelemetry({ ...env, OTEL_SDK_DISABLED: undefined })
  if (telemetry === undefined || variant === 'shipped') return telemetry
  const key = createContextKey('bench.variant')
  const entered = context.active().setValue(key, 1)
  if (variant === 'enabled') {
    context.with(entered, () => {})
    return { ...telemetry, logFields: undefined, instrument: async () => {} }
  }
  if (variant === 'spanonly') return { ...telemetry, logFields: undefined, instrument: spansOnly }
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

/** Private: a SERVER span per request, started and ended, never entered as the context. */
async function spansOnly(app) {
  const tracer = trace.getTracer('event-service')
  const SPAN = Symbol('benchSpan')
  app.decorateRequest(SPAN, undefined)
  app.addHook('onRequest', (request, _reply, done) => {
    request[SPAN] = tracer.startSpan(`GET ${request.routeOptions.url}`, { kind: SpanKind.SERVER })
    done()
  })
  app.addHook('onResponse', (request, _reply, done) => {
    request[SPAN]?.end()
    done()
  })
}
