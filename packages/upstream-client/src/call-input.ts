import { checks, describe, fail, isHeaderToken } from './checks.js'
import { InvalidOptionError } from './errors/invalid-option-error.js'

/**
 * A value the {@link path} tag and the `query` call option accept: it is turned into text with
 * `String()` and percent-encoded.
 */
export type PathValue = string | number | bigint | boolean

/** A `query` value: one value, several (the parameter repeats), or `undefined` (left out). */
export type QueryValue = PathValue | readonly PathValue[] | undefined

/** The `query` call option: parameters appended to the path, encoded, in key order as given. */
export type Query = Readonly<Record<string, QueryValue>>

/**
 * Builds a request path from a template: each interpolated value is percent-encoded as one
 * whole path segment (so `/`, `?`, `#`, `%` and spaces in an id cannot change the route), and a
 * value that is empty, `.` or `..` throws `InvalidOptionError` (`option: 'path'`). The result is
 * an ordinary string; the client also remembers its template, so a call made with it is keyed
 * (breaker, `maxInFlight`, hooks, logs) as `${METHOD} ${template}`, e.g. `GET /getUserById/{}`,
 * instead of by its first path segment.
 *
 * @example
 * import { path } from '@userevents/upstream-client'
 * const user = await client.get(path`/getUserById/${id}`) // id 'a/b#c' → /getUserById/a%2Fb%23c
 */
export function path(strings: TemplateStringsArray, ...values: PathValue[]): string {
  let result = strings[0] as string
  for (let i = 0; i < values.length; i++) {
    result += encodeSegment(values[i]) + (strings[i + 1] as string)
  }
  rememberTemplate(result, templateOf(strings))
  return result
}

/**
 * @internal The breaker/metrics key of a call, in this order: the `operation` call option; the
 * template of a path built with {@link path} (`GET /getUserById/{}`); the method and the first
 * path segment (`GET /getUserById`). `path` is the caller's path before the `query` option.
 */
export function operationOf(method: string, callPath: string, operation: string | undefined) {
  if (operation !== undefined) return operation
  const template = templates.get(callPath)
  if (template !== undefined) return `${method} ${template}`
  let end = 1
  while (end < callPath.length) {
    const c = callPath.charCodeAt(end)
    if (c === 47 /* / */ || c === 63 /* ? */) break
    end++
  }
  // A segment longer than this is almost certainly an id, not a route; the key stays bounded.
  return `${method} ${callPath.slice(0, Math.min(end, MAX_SEGMENT + 1))}`
}

/**
 * @internal Rejects, before any I/O, a path undici or the upstream would misread: it must start
 * with `/`, contain only visible ASCII (no spaces, control characters or raw non-ASCII), no `#`,
 * no malformed `%` escape and no `.`/`..` segment (also percent-encoded).
 */
export function validatePath(value: unknown): asserts value is string {
  if (typeof value !== 'string' || value.charCodeAt(0) !== 47 /* / */) {
    pathError(value, 'start with "/"')
  }
  // One pass over the characters; the segment check below (which allocates) only runs for a
  // path that has a '.' or '%' before its query at all.
  let dotOrPercent = false
  let queryAt = value.length
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i)
    if (c <= 0x20 || c >= 0x7f) {
      // Usually an id interpolated raw: the `path` tag is the fix, so the message names it.
      pathError(
        value,
        'contain only visible ASCII characters (build it with the `path` tag, which encodes each value)',
      )
    }
    if (c === 35 /* # */) pathError(value, 'have no "#" (encode it, or use the `path` tag)')
    if (c === 37 /* % */ && !(isHex(value.charCodeAt(i + 1)) && isHex(value.charCodeAt(i + 2)))) {
      pathError(value, 'use "%" only in a valid escape such as %2F')
    }
    if (c === 63 /* ? */ && queryAt === value.length) queryAt = i
    if ((c === 46 /* . */ || c === 37) && queryAt === value.length) dotOrPercent = true
  }
  if (!dotOrPercent) return
  for (const segment of value.slice(0, queryAt).split('/')) {
    const plain = segment.replace(/%2e/gi, '.')
    if (plain === '.' || plain === '..') pathError(value, 'have no "." or ".." segment')
  }
}

/**
 * @internal Validates a headers object (client or call): every name an HTTP token, every value a
 * string that undici will send (no CR, LF or NUL), no header undici refuses to set itself.
 * `option` is the prefix of the error's `option`, e.g. `headers`.
 */
export function validateHeaders(option: string, headers: unknown): void {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidOptionError(
      option,
      `Expected \`${option}\` to be an object of header strings, got ${describe(headers)}`,
      headers,
    )
  }
  for (const [name, value] of Object.entries(headers)) {
    const at = `${option}.${name}`
    if (!isHeaderToken(name)) {
      throw new InvalidOptionError(
        at,
        `Expected header name ${describe(name)} to be an HTTP token`,
        name,
      )
    }
    if (FORBIDDEN_HEADERS.has(name.toLowerCase())) {
      throw new InvalidOptionError(at, `Header ${describe(name)} is managed by the client`, value)
    }
    if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
      throw new InvalidOptionError(
        at,
        `Expected \`${at}\` to be a string without CR, LF or NUL, got ${describe(value)}`,
        value,
      )
    }
  }
}

/**
 * @internal Validates a call option sent as a header value (`requestId`, `idempotencyKey`): a
 * string undici will send (no CR, LF or NUL).
 */
export function validateHeaderValue(option: string, value: unknown): void {
  if (typeof value !== 'string' || !HEADER_VALUE.test(value)) {
    throw new InvalidOptionError(
      option,
      `Expected \`${option}\` to be a string without CR, LF or NUL, got ${describe(value)}`,
      value,
    )
  }
}

/** @internal Serialises a JSON body; a value JSON cannot represent is the caller's error. */
export function serializeBody(body: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(body)
  } catch (error) {
    throw Object.assign(
      new InvalidOptionError(
        'body',
        `Expected \`body\` to be JSON-serialisable: ${(error as Error).message}`,
        body,
      ),
      { cause: error },
    )
  }
  if (json === undefined) {
    throw new InvalidOptionError(
      'body',
      `Expected \`body\` to be JSON-serialisable, got ${typeof body}`,
      body,
    )
  }
  return json
}

/** @internal Appends the `query` call option to a path (after any query the path has). */
export function appendQuery(callPath: string, query: unknown): string {
  if (typeof query !== 'object' || query === null || Array.isArray(query)) {
    throw new InvalidOptionError(
      'query',
      `Expected \`query\` to be an object, got ${describe(query)}`,
      query,
    )
  }
  const parts: string[] = []
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue
    const name = encodeURIComponent(key)
    const values: readonly unknown[] = Array.isArray(value) ? value : [value]
    for (const v of values) parts.push(`${name}=${encodeURIComponent(queryValue(key, v))}`)
  }
  if (parts.length === 0) return callPath
  return `${callPath}${callPath.includes('?') ? '&' : '?'}${parts.join('&')}`
}

// Private helpers below.

/** @internal Validates the per-call options the client reads on the hot path. */
export function validateCallOptions(options: {
  timeoutMs?: unknown
  deadlineMs?: unknown
  headers?: unknown
  operation?: unknown
  requestId?: unknown
  idempotencyKey?: unknown
  signal?: unknown
  cache?: unknown
  onHeaders?: unknown
  hedge?: unknown
}): void {
  const op = options.operation
  if (op !== undefined && (typeof op !== 'string' || !OPERATION.test(op))) {
    fail('operation', 'a string of 1 to 128 printable ASCII characters', op)
  }
  if (options.timeoutMs !== undefined) checks.timerDelay('timeoutMs', options.timeoutMs, 0)
  if (options.deadlineMs !== undefined)
    checks.positiveNumber('deadlineMs', options.deadlineMs, 0, true)
  if (options.headers !== undefined) validateHeaders('headers', options.headers)
  // These two travel as header values (x-request-id, idempotency-key): a CR/LF in one would
  // otherwise be found by undici only during the attempt.
  if (options.requestId !== undefined) validateHeaderValue('requestId', options.requestId)
  if (options.idempotencyKey !== undefined) {
    validateHeaderValue('idempotencyKey', options.idempotencyKey)
  }
  const signal = options.signal as { aborted?: unknown; addEventListener?: unknown } | undefined
  if (
    signal !== undefined &&
    (typeof signal !== 'object' ||
      signal === null ||
      typeof signal.aborted !== 'boolean' ||
      typeof signal.addEventListener !== 'function')
  ) {
    fail('signal', 'an AbortSignal', signal)
  }
  if (options.cache !== undefined && typeof options.cache !== 'boolean') {
    fail('cache', 'a boolean', options.cache)
  }
  if (options.onHeaders !== undefined && typeof options.onHeaders !== 'function') {
    fail('onHeaders', 'a function', options.onHeaders)
  }
  if (options.hedge !== undefined && typeof options.hedge !== 'boolean') {
    fail('hedge', 'a boolean', options.hedge)
  }
}

/** Private: longest first segment kept in a fallback operation key. */
const MAX_SEGMENT = 64

/**
 * Private: templates of the most recent paths built by the `path` tag. A tagged template returns
 * a primitive string, which cannot carry the template itself; the call that uses the path is
 * normally made at once, so a small bounded map (oldest entry dropped first) is enough. A path
 * that fell out of it is keyed by its first segment, which is still a valid key.
 */
const templates = new Map<string, string>()
const MAX_TEMPLATES = 1_024

/**
 * Private: the template text per call site. A tagged template passes the same frozen
 * `strings` array on every evaluation of one call site, so the text is built once per site.
 */
const templateTexts = new WeakMap<TemplateStringsArray, string>()

/** An operation key: bounded printable ASCII, safe as a metric label and inside a Redis key. */
const OPERATION = /^[\x20-\x7e]{1,128}$/

function templateOf(strings: TemplateStringsArray): string {
  let text = templateTexts.get(strings)
  if (text === undefined) {
    text = strings.join('{}')
    templateTexts.set(strings, text)
  }
  return text
}

function rememberTemplate(result: string, template: string): void {
  if (templates.get(result) === template) return
  templates.delete(result)
  templates.set(result, template)
  if (templates.size > MAX_TEMPLATES) templates.delete(templates.keys().next().value as string)
}

function encodeSegment(value: unknown): string {
  if (!isPathValue(value)) {
    throw new InvalidOptionError(
      'path',
      `Expected a path value to be a string, number, bigint or boolean, got ${describe(value)}`,
      value,
    )
  }
  const text = String(value)
  if (text === '' || text === '.' || text === '..') {
    throw new InvalidOptionError(
      'path',
      `Expected a path value to be a non-empty segment other than "." and "..", got ${describe(text)}`,
      value,
    )
  }
  return encodeURIComponent(text)
}

function queryValue(key: string, value: unknown): string {
  if (!isPathValue(value)) {
    throw new InvalidOptionError(
      `query.${key}`,
      `Expected \`query.${key}\` to be a string, number, bigint, boolean or an array of them, got ${describe(value)}`,
      value,
    )
  }
  return String(value)
}

function isPathValue(value: unknown): value is PathValue {
  const t = typeof value
  return (
    t === 'string' ||
    t === 'bigint' ||
    t === 'boolean' ||
    (t === 'number' && Number.isFinite(value as number))
  )
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)
}

function pathError(value: unknown, rule: string): never {
  throw new InvalidOptionError(
    'path',
    `Expected \`path\` to ${rule}, got ${describe(value)}`,
    value,
  )
}

/** What undici accepts in a header value: tab, visible ASCII, space and obs-text. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

/** Headers undici refuses (it manages them), which it would report as a network error. */
const FORBIDDEN_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'upgrade',
  'expect',
  'content-length',
])
