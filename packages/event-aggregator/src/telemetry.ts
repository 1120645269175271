// Aliased: bundles commonly prepend `const require = createRequire(import.meta.url)` with their own
// `createRequire` import (esbuild banners), which a second top-level `createRequire` would clash with.
import { createRequire as requireFromHere } from 'node:module'
import type * as OpenTelemetry from '@opentelemetry/api'
import type { EventPage } from './types.js'

/** Private: `undefined` until the first lookup, `null` when the API is not installed. */
let api: typeof OpenTelemetry | null | undefined

/**
 * @internal Wraps a page load in an INTERNAL span (`getEventsByUserId`, or
 * `iterateEventsByUserId page`) whose context is active while the page loads, so the user read
 * and the event reads of the client below become its children.
 */
export type PageSpan = <P extends EventPage<unknown>>(
  name: string,
  attributes: Record<string, string | number>,
  load: () => Promise<P>,
) => Promise<P>

/**
 * @internal The page tracer of an aggregator, or `undefined` when `@opentelemetry/api` (an
 * optional peer dependency) is not installed or no SDK has registered a tracer provider when the
 * aggregator is created; pages then load without any OpenTelemetry call.
 */
export function createPageSpan(): PageSpan | undefined {
  if (api === undefined) {
    try {
      api = requireFromHere(import.meta.url)('@opentelemetry/api') as typeof OpenTelemetry
    } catch {
      api = null
    }
  }
  const otel = api
  if (otel === null) return undefined
  const tracer = otel.trace.getTracer('@userevents/event-aggregator')
  // Without an SDK the API hands out its own ProxyTracer, whose spans never record.
  if (tracer instanceof otel.ProxyTracer) return undefined
  return (name, attributes, load) =>
    tracer.startActiveSpan(name, { kind: otel.SpanKind.INTERNAL, attributes }, async (span) => {
      try {
        const page = await load()
        span.setAttribute('userevents.page.items', page.items.length)
        span.setAttribute('userevents.page.missing', page.missing.length)
        span.setAttribute('userevents.page.total', page.total)
        return page
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code
        span.setAttribute('error.type', typeof code === 'string' ? code : '_OTHER')
        span.setStatus({ code: otel.SpanStatusCode.ERROR, message: (error as Error)?.message })
        throw error
      } finally {
        span.end()
      }
    })
}
