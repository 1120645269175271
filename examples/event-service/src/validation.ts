import { Ajv, type ErrorObject } from 'ajv'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Builds Fastify's validator compiler with two Ajv instances:
 * - query strings, params and headers are strings on the wire, so they are coerced;
 * - the body is JSON and already typed, so it is NOT coerced: `{ "name": 123 }` is a 400, where
 *   Fastify's default (one coercing instance for everything) would quietly store `"123"`.
 *
 * Neither instance removes additional properties (Fastify's default does, silently), so
 * `additionalProperties: false` answers 400 naming the unknown field instead of dropping it.
 * `verbose` keeps the failing value on each error, so the message can quote it; union types
 * (`userId`: string or integer) are allowed on purpose.
 */
export function createValidatorCompiler(): FastifySchemaCompiler<unknown> {
  const common = {
    removeAdditional: false,
    useDefaults: true,
    allErrors: false,
    verbose: true,
    allowUnionTypes: true,
  } as const
  const strict = new Ajv({ ...common, coerceTypes: false })
  const coercing = new Ajv({ ...common, coerceTypes: 'array' })
  return ({ schema, httpPart }) => {
    const ajv = httpPart === 'body' ? strict : coercing
    return ajv.compile(schema as object)
  }
}

/**
 * Fastify's `schemaErrorFormatter`: an error whose message names the input part, the field and
 * the bad value, e.g. ``querystring.limit must be >= 1, got 0`` or
 * ``body must NOT have additional property "color"``.
 */
export function formatValidationError(errors: Partial<ErrorObject>[], part: string): Error {
  return new Error(describeValidationError(errors, part))
}

/** Turns Ajv's first (verbose) error into a message naming the part, the field and the value. */
export function describeValidationError(
  errors: readonly Partial<ErrorObject>[],
  part: string,
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
      if (path.length === 0 && (first.data === undefined || first.data === null)) {
        return `${part} is required`
      }
      break
  }
  return `${where} ${first.message ?? 'is invalid'}, got ${describeValue(first.data)}`
}

/** Private: quotes a value short enough to put in a message; long or deep values are cut. */
function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing'
  return preview(value, 80)
}

/**
 * Private: the start of a value's JSON, at most `max` characters. Unlike `JSON.stringify`, it
 * stops writing once it has `max` characters, so it recurses at most `max` levels deep: a body of
 * 5,000 nested arrays (10 KB, under the body limit) overflowed the stack inside `JSON.stringify`
 * and turned a 400 into a 500.
 */
function preview(value: unknown, max: number): string {
  let out = ''
  const write = (v: unknown): boolean => {
    if (out.length > max) return false
    if (Array.isArray(v)) {
      out += '['
      for (let i = 0; i < v.length; i++) {
        if (i > 0) out += ','
        if (!write(v[i])) return false
      }
      out += ']'
    } else if (typeof v === 'object' && v !== null) {
      out += '{'
      let first = true
      for (const [key, item] of Object.entries(v)) {
        out += `${first ? '' : ','}${JSON.stringify(key)}:`
        first = false
        if (!write(item)) return false
      }
      out += '}'
    } else {
      // Scalars are flat; a long string is cut below.
      out += JSON.stringify(v) ?? String(v)
    }
    return out.length <= max
  }
  write(value)
  return out.length > max ? `${out.slice(0, max - 3)}...` : out
}
