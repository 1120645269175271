import type { Context, Span, Tracer } from '@opentelemetry/api'
import type { CallState, ClientHooks, HedgeEvent } from '../hooks.js'
import type { Attachment, OpenTelemetryApi } from './api.js'
import { attr, clientSpanName, errorType, SCOPE, spanEvent, urlTemplate } from './names.js'

/** @internal What the tracing and metrics listeners need to know about their client. */
export interface ClientInfo {
  name: string
  serverAddress: string
  serverPort: number
}

/**
 * Private: the trace of one call, kept beside its state object. Its span opens lazily, with the
 * call's start time, at the first thing worth a span (an attempt, a wait for an identical call,
 * a retry, a failure, an answer from the shared store): a call answered from the fresh cache does
 * no I/O and records no span (the cache-lookups counter counts it).
 */
interface CallTrace {
  /** The caller's active context when the call started: the parent of the call's span. */
  parent: Context
  /** When the call started (`performance.now()`), the span's start time. */
  startTime: number
  span: Span | undefined
  /** The caller's context with the call's span set: the parent of its attempt spans. */
  context: Context | undefined
  /** The span of the attempt in flight, until its response or error. */
  attempt: Span | undefined
  /** The number of that attempt. */
  attemptNumber: number
  /** Spans of earlier attempts still in flight beside it (a hedge race), by attempt number. */
  others: Map<number, Span> | undefined
}

/** Private: a call with the slot the client keeps for its trace (`Call.traceState`). */
type Traced = CallState & { traceState?: CallTrace }

/** Private: the trace of a call, `undefined` for one that started before tracing attached. */
function traceOf(call: CallState): CallTrace | undefined {
  return (call as Traced).traceState
}

/**
 * @internal Traces every call from the client's hooks: an INTERNAL span per call that does
 * something (a call answered from the fresh cache gets none), named after its operation and
 * parented to the caller's active context, and a CLIENT span per attempt below it, with the HTTP
 * client semantic-convention attributes. Retries, circuit rejections, stale-if-error answers and
 * coalescing are events on the call's span. With `propagate`, the global propagator writes the
 * attempt span's context into the attempt's headers.
 *
 * Returns `undefined` when no tracer provider is registered: the client then subscribes to
 * nothing here (`attachTelemetry` tries again once one is).
 */
export function attachTracing(
  api: OpenTelemetryApi,
  hooks: ClientHooks,
  client: ClientInfo,
  propagate: boolean,
): Attachment | undefined {
  const tracer: Tracer = api.trace.getTracer(SCOPE)
  // Before an SDK registers a provider the API hands out a ProxyTracer of its own copy, whose
  // spans are all non-recording.
  if (tracer instanceof api.ProxyTracer) return undefined
  const { SpanKind, SpanStatusCode } = api

  const callStart = (call: CallState) => {
    ;(call as Traced).traceState = {
      parent: api.context.active(),
      startTime: performance.now(),
      span: undefined,
      context: undefined,
      attempt: undefined,
      attemptNumber: 0,
      others: undefined,
    }
  }
  /** The call's span, opened now (back-dated to the call's start) if it is not yet. */
  const spanOf = (call: CallState, trace: CallTrace): Span => {
    if (trace.span !== undefined) return trace.span
    const span = tracer.startSpan(
      call.operation,
      {
        kind: SpanKind.INTERNAL,
        startTime: trace.startTime,
        attributes: {
          [attr.client]: client.name,
          [attr.operation]: call.operation,
          [attr.method]: call.method,
        },
      },
      trace.parent,
    )
    trace.span = span
    trace.context = api.trace.setSpan(trace.parent, span)
    return span
  }
  const eventOn = (call: CallState, name: string, attributes?: Record<string, unknown>) => {
    const trace = traceOf(call)
    if (trace !== undefined) spanOf(call, trace).addEvent(name, attributes as never)
  }
  const unsubscribe = [
    hooks.callStart.subscribe(callStart),
    hooks.request.subscribe((event) => {
      const trace = traceOf(event.call)
      if (trace === undefined) return
      const attributes: Record<string, string | number> = {
        [attr.method]: event.method,
        [attr.serverAddress]: client.serverAddress,
        [attr.serverPort]: client.serverPort,
        [attr.urlFull]: event.url,
      }
      if (event.attempt > 1) attributes[attr.resendCount] = event.attempt - 1
      const template = urlTemplate(event.call)
      if (template !== undefined) attributes[attr.urlTemplate] = template
      spanOf(event.call, trace)
      const span = tracer.startSpan(
        clientSpanName(event.call),
        { kind: SpanKind.CLIENT, attributes },
        trace.context,
      )
      if (trace.attempt !== undefined) {
        trace.others ??= new Map()
        trace.others.set(trace.attemptNumber, trace.attempt)
      }
      trace.attempt = span
      trace.attemptNumber = event.attempt
      if (propagate) {
        api.propagation.inject(api.trace.setSpan(trace.context as Context, span), event.headers)
      }
    }),
    hooks.response.subscribe((event) => {
      const span = takeAttemptSpan(traceOf(event.call), event.attempt)
      if (span === undefined) return
      span.setAttribute(attr.status, event.status)
      if (event.status >= 400) {
        span.setAttribute(attr.errorType, String(event.status))
        span.setStatus({ code: SpanStatusCode.ERROR })
      }
      span.end()
    }),
    hooks.attemptError.subscribe((event) => {
      // An HTTP status error already ended its span at the response, with its status.
      const span = takeAttemptSpan(traceOf(event.call), event.attempt)
      if (span === undefined) return
      if (event.error.status !== undefined) span.setAttribute(attr.status, event.error.status)
      span.setAttribute(attr.errorType, errorType(event.error))
      span.setStatus({ code: SpanStatusCode.ERROR, message: event.error.message })
      span.end()
    }),
    hooks.retry.subscribe((event) => {
      eventOn(event.call, spanEvent.retry, {
        [attr.retryAttempt]: event.attempt,
        [attr.retryDelay]: event.delayMs,
        [attr.errorType]: errorType(event.error),
      })
    }),
    hooks.hedge.subscribe((event) => endSupersededSpans(traceOf(event.call), event)),
    hooks.cacheHit.subscribe((event) => {
      // A fresh hit is the whole call, with no I/O: no span (the lookups counter counts it). A
      // revalidated (304) or stale answer is an event on the call's span.
      if (event.state !== 'fresh' || event.stale) {
        eventOn(event.call, spanEvent.cacheHit, {
          [attr.cacheStale]: event.stale,
          [attr.cacheResult]: event.state,
        })
      }
    }),
    hooks.coalesced.subscribe((event) => {
      eventOn(event.call, spanEvent.coalesced)
    }),
    hooks.callEnd.subscribe((event) => {
      // The entry stays: a caller who stopped waiting ends its call while the attempt it started
      // for coalesced callers may still be in flight, and that attempt's span must still end.
      const trace = traceOf(event.call)
      if (trace === undefined) return
      if (trace.span === undefined && event.outcome === 'cache') return
      const span = spanOf(event.call, trace)
      const error = event.error as { code?: unknown; breaker?: unknown; message?: unknown }
      if (error?.code === 'UPSTREAM_CIRCUIT_OPEN') {
        span.addEvent(spanEvent.circuitRejected, { [attr.breaker]: String(error.breaker) })
      }
      span.setAttribute(attr.attempts, event.call.attempts)
      span.setAttribute(attr.outcome, event.outcome)
      if (event.error !== undefined) {
        span.setAttribute(attr.errorType, errorType(event.error))
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: typeof error?.message === 'string' ? error.message : undefined,
        })
      }
      span.end()
    }),
  ]
  return {
    callStart,
    detach: () => {
      for (const off of unsubscribe) off()
    },
  }
}

/** Private: removes and returns the span of attempt `n` of a call, if it is still open. */
function takeAttemptSpan(trace: CallTrace | undefined, n: number): Span | undefined {
  if (trace === undefined) return undefined
  if (trace.attempt !== undefined && trace.attemptNumber === n) {
    const span = trace.attempt
    trace.attempt = undefined
    return span
  }
  const span = trace.others?.get(n)
  if (span !== undefined) trace.others?.delete(n)
  return span
}

/**
 * Private: a superseded attempt of a hedge race reports no error, so its span ends here, marked
 * `superseded`, without an error status: on `lost` the attempt named, on `won` every other one.
 */
function endSupersededSpans(trace: CallTrace | undefined, event: HedgeEvent): void {
  if (trace === undefined || (event.type !== 'won' && event.type !== 'lost')) return
  const losers =
    event.type === 'lost'
      ? [event.attempt]
      : [trace.attemptNumber, ...(trace.others?.keys() ?? [])].filter((n) => n !== event.attempt)
  for (const n of losers) {
    const span = takeAttemptSpan(trace, n)
    span?.setAttribute(attr.superseded, true)
    span?.end()
  }
}
