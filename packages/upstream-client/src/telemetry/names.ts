import type { CallState } from '../hooks.js'

/** @internal The instrumentation scope of the client's tracer and meter. */
export const SCOPE = '@userevents/upstream-client'

/**
 * @internal Attribute names: the HTTP client semantic conventions where one exists, and the
 * `userevents.*` namespace for what no convention covers yet.
 */
export const attr = {
  method: 'http.request.method',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlFull: 'url.full',
  urlTemplate: 'url.template',
  status: 'http.response.status_code',
  errorType: 'error.type',
  resendCount: 'http.request.resend_count',
  client: 'userevents.client.name',
  operation: 'userevents.operation',
  attempts: 'userevents.call.attempts',
  outcome: 'userevents.call.outcome',
  retryAttempt: 'userevents.retry.attempt',
  retryDelay: 'userevents.retry.delay_ms',
  hedgeResult: 'userevents.hedge.result',
  superseded: 'userevents.attempt.superseded',
  cacheResult: 'userevents.cache.result',
  cacheStale: 'userevents.cache.stale',
  breaker: 'userevents.circuit.breaker',
  circuitState: 'userevents.circuit.state',
  circuitFrom: 'userevents.circuit.from',
  circuitTo: 'userevents.circuit.to',
  rampPhase: 'userevents.circuit.ramp.phase',
  queue: 'userevents.queue',
} as const

/** @internal Span event names (on the INTERNAL span of the call). */
export const spanEvent = {
  retry: 'userevents.retry',
  circuitRejected: 'userevents.circuit.rejected',
  cacheHit: 'userevents.cache.hit',
  coalesced: 'userevents.coalesced',
} as const

/** @internal Metric instrument names. */
export const metric = {
  requestDuration: 'http.client.request.duration',
  circuitState: 'userevents.client.circuit.state',
  circuitTransitions: 'userevents.client.circuit.transitions',
  circuitRejections: 'userevents.client.circuit.rejections',
  rampAllowance: 'userevents.client.circuit.ramp.allowance',
  retries: 'userevents.client.retries',
  hedges: 'userevents.client.hedges',
  cacheLookups: 'userevents.client.cache.lookups',
  coalesced: 'userevents.client.coalesced',
  inFlight: 'userevents.client.calls.in_flight',
  queued: 'userevents.client.calls.queued',
} as const

/**
 * @internal Bucket boundaries the HTTP semantic conventions advise for
 * `http.client.request.duration`, in seconds.
 */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]

/**
 * @internal Name of an attempt's CLIENT span: the operation when it already reads
 * `${METHOD} ${target}` (`GET /getUserById/{}`, `GET /getUsers`), else the method and the
 * operation's name (`GET getEventById`), the `{method} {target}` shape the HTTP conventions use.
 */
export function clientSpanName(call: CallState): string {
  const { operation, method } = call
  return operation.startsWith(`${method} `) ? operation : `${method} ${operation}`
}

/**
 * @internal `url.template` of a call made with the `path` tag (its operation is
 * `${METHOD} ${template}` with `{}` placeholders), else `undefined`.
 */
export function urlTemplate(call: CallState): string | undefined {
  const { operation, method } = call
  if (!operation.startsWith(`${method} /`) || !operation.includes('{}')) return undefined
  return operation.slice(method.length + 1)
}

/**
 * @internal `error.type` of a failure: the status code for an HTTP error (as the semantic
 * conventions ask), the stable error code otherwise, `_OTHER` for a foreign error.
 */
export function errorType(error: unknown): string {
  const e = error as { code?: unknown; status?: unknown } | null
  if (e?.code === 'UPSTREAM_HTTP_STATUS' && typeof e.status === 'number') return String(e.status)
  return typeof e?.code === 'string' ? e.code : '_OTHER'
}
