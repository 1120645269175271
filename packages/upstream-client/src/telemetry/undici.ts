/**
 * Whether an undici request already carries a `traceparent` header, for
 * `@opentelemetry/instrumentation-undici`'s `ignoreRequestHook`. The client traces each attempt
 * itself and writes the trace context into its headers; undici's instrumentation would add a
 * second CLIENT span and a second `traceparent` (two values the upstream cannot parse) for the
 * same request. With this hook it leaves such requests alone and still traces every other undici
 * or `fetch` request of the process. It accepts both shapes undici gives `request.headers`: a
 * flat `[name, value, ...]` array (undici 6 and later) and a raw header string (undici 5).
 *
 * @example
 * import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici'
 * import { hasTraceparent } from '@userevents/upstream-client'
 * new UndiciInstrumentation({ ignoreRequestHook: hasTraceparent })
 */
export function hasTraceparent(request: { headers?: unknown }): boolean {
  const headers = request?.headers
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i]
      if (typeof name === 'string' && name.toLowerCase() === 'traceparent') return true
    }
    return false
  }
  return typeof headers === 'string' && /(^|\r\n)traceparent:/i.test(headers)
}
