/**
 * The service's SERVER spans: one span per request of a traced route, continuing an incoming
 * `traceparent`, active while the route's hooks and handler run (so the upstream client's CLIENT
 * spans are its children and log lines carry its ids), ended when the answer is sent.
 *
 * Why not `@fastify/otel` by default: on every request it matches the ignore rule against the
 * URL, builds the attribute object and the route options, reads RPC metadata, and runs the rest
 * of the request in a new closure; by default it also opens a child span per hook and one for the
 * handler. Here everything that depends only on the route (span name, attributes, whether it is
 * traced at all) is computed once when the route is registered, the probes and `/metrics` get no
 * hook at all, and a request allocates its span and its context, nothing else. `@fastify/otel`
 * with its per-hook spans stays available (`OTEL_FASTIFY_HOOK_SPANS=true`, see telemetry.ts).
 */
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api'
import type {
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
  HookHandlerDoneFunction,
} from 'fastify'

/** Routes that get no span by default: probes and the scrape, polled every few seconds. */
export const UNTRACED_ROUTES: readonly string[] = ['/healthz', '/readyz', '/metrics']

/** Options of {@link installServerSpans}. */
export interface ServerSpanOptions {
  /** The tracer the spans come from. */
  tracer: Tracer
  /** Route patterns (`/users/:id/events`) that get no span. Default {@link UNTRACED_ROUTES}. */
  untraced?: readonly string[]
}

/**
 * Adds SERVER spans to every route registered on `app` after this call (call it first, on the
 * root instance). Routes in `untraced` get nothing; unmatched URLs (404) get no span either.
 */
export function installServerSpans(app: FastifyInstance, options: ServerSpanOptions): void {
  const untraced = new Set(options.untraced ?? UNTRACED_ROUTES)
  const { tracer } = options
  // Declared up front so every request object has the same shape (V8 keeps one hidden class).
  app.decorateRequest(SPAN, undefined)
  app.decorateRequest(CONTEXT, undefined)
  app.decorateRequest(ERROR_TYPE, undefined)
  app.addHook('onRoute', (route) => {
    if (untraced.has(route.url)) return
    const methods = Array.isArray(route.method) ? route.method : [route.method]
    // One entry per route, made once: the span's name and attributes never change per request.
    const start = startSpanHook(tracer, {
      name: `${methods.join('|')} ${route.url}`,
      attributes: {
        'http.request.method': methods.length === 1 ? (methods[0] as string) : '_OTHER',
        'http.route': route.url,
        'url.scheme': 'http',
      },
    })
    route.onRequest = appendHook(route.onRequest, start)
    route.onResponse = appendHook(route.onResponse, endSpan)
    route.onError = appendHook(route.onError, recordError)
  })
}

/** Private: the request's span, its context and the `error.type` of a failure, on the request. */
const SPAN = Symbol('serverSpan')
const CONTEXT = Symbol('serverSpanContext')
const ERROR_TYPE = Symbol('serverSpanErrorType')
type Traced = FastifyRequest & { [SPAN]?: Span; [CONTEXT]?: Context; [ERROR_TYPE]?: string }

/**
 * Private: the onRequest hook of one route. It continues the caller's trace (the propagator reads
 * `traceparent` from the headers), starts the SERVER span and runs the rest of the request in its
 * context.
 */
function startSpanHook(tracer: Tracer, route: { name: string; attributes: Attributes }) {
  return function startServerSpan(
    request: FastifyRequest,
    _reply: FastifyReply,
    done: HookHandlerDoneFunction,
  ): void {
    const parent = propagation.extract(ROOT_CONTEXT, request.headers)
    const span = tracer.startSpan(
      route.name,
      { kind: SpanKind.SERVER, attributes: route.attributes },
      parent,
    )
    const ctx = trace.setSpan(parent, span)
    const traced = request as Traced
    traced[SPAN] = span
    traced[CONTEXT] = ctx
    // `done` itself is the callback: no closure per request. The rest of the request runs inside
    // it, the handler too, also after a body was read: Fastify runs the body parser's callback in
    // the request's async context (test/server-spans.test.ts checks it over a real socket).
    context.with(ctx, done)
  }
}

/** Private: ends the span with the status code, once the answer is sent. */
function endSpan(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) {
  const traced = request as Traced
  const span = traced[SPAN]
  if (span !== undefined) {
    const status = reply.statusCode
    span.setAttribute('http.response.status_code', status)
    // Server spans: only a 5xx is the server's error (a 4xx is the caller's).
    if (status >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR })
      span.setAttribute('error.type', traced[ERROR_TYPE] ?? String(status))
    }
    span.end()
  }
  done()
}

/** Private: keeps the failure's code (or name) for the span's `error.type` when it ends in a 5xx. */
function recordError(
  request: FastifyRequest,
  _reply: FastifyReply,
  error: Error & { code?: unknown },
  done: HookHandlerDoneFunction,
) {
  ;(request as Traced)[ERROR_TYPE] = typeof error.code === 'string' ? error.code : error.name
  done()
}

/** Private: a route-level hook list with `hook` last (after the route's own hooks). */
function appendHook<T>(existing: T | T[] | undefined, hook: T): T[] {
  if (existing === undefined) return [hook]
  return Array.isArray(existing) ? [...existing, hook] : [existing, hook]
}
