import { Ajv, type ErrorObject } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Builds Fastify's validator compiler with two Ajv instances:
 * - query strings, params and headers are strings on the wire, so they are coerced
 *   (`?limit=20` becomes the integer 20);
 * - the body is JSON and already typed, so it is NOT coerced: `{ "name": 123 }` is a 400, where
 *   Fastify's default (one coercing instance for everything) would quietly store `"123"`.
 *
 * Neither instance removes additional properties (Fastify's default does, silently), so
 * `additionalProperties: false` answers 400 naming the unknown field instead of dropping it.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const common = { removeAdditional: false, useDefaults: true, allErrors: false } as const
  const strict = new Ajv({ ...common, coerceTypes: false })
  const coercing = new Ajv({ ...common, coerceTypes: 'array' })
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing
    return ajv.compile(schema as object)
  }
}

/**
 * Turns Ajv's first error into a message that names the input part, the field and the bad value,
 * e.g. ``querystring.limit must be <= 200, got 500`` or
 * ``body must NOT have additional property "color"``.
 *
 * @param errors the `validation` array of a Fastify validation error
 * @param part   `body`, `querystring`, `params` or `headers`
 * @param data   the request's value for that part, to quote the offending value from
 */
export function describeValidationError(
  errors: readonly Partial<ErrorObject>[],
  part: string,
  data: unknown,
): string {
  const first = errors[0]
  if (first === undefined) return `${part} is invalid`
  const path = (first.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
  const where = [part, ...path].join('.')
  const params = (first.params ?? {}) as Record<string, unknown>

  switch (first.keyword) {
    case 'additionalProperties':
      return `${where} must NOT have additional property ${JSON.stringify(params.additionalProperty)}`
    case 'required':
      return `${where} must have required property ${JSON.stringify(params.missingProperty)}`
    case 'type':
      // An empty body or a non-object body fails on the root `type`.
      if (path.length === 0 && data === undefined) return `${part} is required`
      break
  }
  const value = valueAt(data, path)
  return `${where} ${first.message ?? 'is invalid'}, got ${describeValue(value)}`
}

/** Private: walks `data` along a JSON-pointer path already split into segments. */
function valueAt(data: unknown, path: readonly string[]): unknown {
  let current = data
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined
    current = (current as Record<string, unknown>)[segment]
  }
  return current
}

/** Private: quotes a value short enough to put in a message; long strings are cut. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  const json = JSON.stringify(value) ?? String(value)
  return json.length > 80 ? `${json.slice(0, 77)}...` : json
}
