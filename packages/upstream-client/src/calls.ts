import type { Call } from './call.js'
import {
  appendQuery,
  operationOf,
  serializeBody,
  validateCallOptions,
  validatePath,
} from './call-input.js'

/** @internal What building a call needs from the client's resolved options. */
export interface CallDefaults {
  name: string
  origin: string
  basePath: string
  timeoutMs: number
  deadlineMs: number
  headers: Record<string, string>
}

/** @internal The per-call options `createCall` reads (`CallOptions` and `WriteOptions`). */
export interface CallInput {
  signal?: AbortSignal
  requestId?: string
  headers?: Record<string, string>
  cache?: boolean
  timeoutMs?: number
  deadlineMs?: number
  operation?: string
  query?: Record<string, unknown>
  idempotencyKey?: string
  hedge?: boolean
}

/** Methods whose repetition cannot duplicate a write, so every transient failure may be retried. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])

/**
 * @internal Returns the client's call builder: every caller error (path, headers, body,
 * options) throws `InvalidOptionError` there, before any I/O. The client's headers are built
 * once and shared by every call that adds none of its own; an attempt copies them before it
 * changes one (`Attempt.setHeader`).
 */
export function callFactory(
  defaults: CallDefaults,
): (method: string, path: string, body: unknown, options: CallInput | undefined) => Call {
  const readHeaders = { accept: 'application/json', ...defaults.headers }
  const writeHeaders = { ...readHeaders, 'content-type': 'application/json' }
  return (method, path, body, options) => {
    validatePath(path)
    const serialized = body === undefined ? undefined : serializeBody(body)
    let callPath = path
    let headers: Record<string, string> = body !== undefined ? writeHeaders : readHeaders
    let requestId: string | undefined
    let idempotencyKey: string | undefined
    let timeoutMs = defaults.timeoutMs
    let deadlineMs = defaults.deadlineMs
    let signal: AbortSignal | undefined
    if (options !== undefined) {
      validateCallOptions(options)
      requestId = options.requestId
      idempotencyKey = options.idempotencyKey
      signal = options.signal
      timeoutMs = options.timeoutMs ?? timeoutMs
      deadlineMs = options.deadlineMs ?? deadlineMs
      if (options.query !== undefined) callPath = appendQuery(path, options.query)
      // Shared header objects are only copied when this call adds something of its own.
      if (
        options.headers !== undefined ||
        requestId !== undefined ||
        idempotencyKey !== undefined
      ) {
        headers = { ...headers, ...options.headers }
        if (requestId !== undefined) headers['x-request-id'] = requestId
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
      }
    }
    const requestPath = defaults.basePath + callPath
    return {
      client: defaults.name,
      method,
      operation: operationOf(method, path, options?.operation),
      path: callPath,
      requestPath,
      url: defaults.origin + requestPath,
      headers,
      extraHeaders: options?.headers,
      body: serialized,
      signal,
      requestId,
      retrySafe: SAFE_METHODS.has(method) || idempotencyKey !== undefined,
      timeoutMs,
      deadlineMs,
      deadlineAt: 0,
      responseBytes: 0,
      attempts: 0,
      attemptsStarted: 0,
      useCache: options?.cache !== false,
      hedge: options?.hedge !== false,
      cacheKey: undefined,
      entryTtlMs: undefined,
      responseHeaders: undefined,
      revalidating: undefined,
      startedAt: 0,
      outcome: 'upstream',
      traceState: undefined,
      metered: false,
    }
  }
}
