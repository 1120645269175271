import { EVENT_FIELDS, type EventField, normalizeFields } from '@userevents/event-aggregator'
import { InvalidPluginOptionError, InvalidQueryError } from './errors/plugin-error.js'

/** Limits of the paged-route query; see {@link parsePageQuery}. */
export interface PageQueryLimits {
  /** Largest `limit` a caller may ask for. Default 200. */
  maxLimit?: number
  /** Largest `offset`. Default 1,000,000. */
  maxOffset?: number
}

/** A paged route's query after {@link parsePageQuery}: numbers, and the field list typed. */
export interface PageQuery {
  /** Page size, or undefined for the aggregator's default. */
  limit: number | undefined
  /** First index, or undefined for 0. */
  offset: number | undefined
  /**
   * The projection in canonical order (always starting with `id`), or undefined for every field.
   */
  fields: readonly EventField[] | undefined
  /** The caller's `fields` exactly as sent, to echo in `Link` headers. */
  rawFields: string | undefined
}

/** The query of a paged route as Fastify hands it over: strings, validated by {@link pageQuerySchema}. */
export interface RawPageQuery {
  /** Digits only. */
  limit?: string
  /** Digits only. */
  offset?: string
  /** Comma-separated field names. */
  fields?: string
}

/** @internal The largest `limit` a page query accepts when its route sets none. */
export const DEFAULT_MAX_LIMIT = 200
const DEFAULT_MAX_OFFSET = 1_000_000
// Digits only: Ajv's coercion of `type: integer` would accept `0x10`, `2e1` and ` 5`.
const DIGITS = /^[0-9]{1,9}$/

/**
 * JSON Schema of `?limit&offset&fields` for a paged route. The values stay strings, so no Ajv
 * coercion can reinterpret them (`type: integer` would accept `0x10`); {@link parsePageQuery}
 * checks them and turns them into numbers and a typed field list. `additionalProperties: false` rejects unknown parameters only where Ajv's `removeAdditional` is off; Fastify's default drops them silently (`registerEventPageRoute` rejects them itself).
 *
 * @example
 * ```ts
 * import { pageQuerySchema } from '@userevents/fastify'
 * const schema = { querystring: pageQuerySchema() }
 * ```
 */
export function pageQuerySchema() {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      // Strings on purpose: parsePageQuery() checks them, with one message style for every rule.
      limit: { type: 'string', description: 'page size, digits only' },
      offset: { type: 'string', description: 'first index, digits only' },
      fields: { type: 'string', description: `comma-separated: ${EVENT_FIELDS.join(', ')}` },
    },
  } as const
}

/**
 * Parses a paged route's query: `limit` and `offset` as integers written in digits (`0x10`,
 * `2e1`, ` 5`, `1.0` are rejected), in range, and `fields` as a typed, canonical field list.
 * It also accepts numbers, for a query already coerced by another schema.
 *
 * @throws InvalidQueryError (400, code `INVALID_INPUT`) naming the parameter and quoting it
 *
 * @example
 * ```ts
 * import { parsePageQuery } from '@userevents/fastify'
 * const q = parsePageQuery({ limit: '20', fields: 'name' }, { maxLimit: 100 })
 * // q.limit === 20, q.fields: readonly ('id' | 'name' | 'userId' | 'details')[]
 * ```
 */
export function parsePageQuery(query: unknown, limits: PageQueryLimits = {}): PageQuery {
  const maxLimit = limits.maxLimit ?? DEFAULT_MAX_LIMIT
  const maxOffset = limits.maxOffset ?? DEFAULT_MAX_OFFSET
  const q = (typeof query === 'object' && query !== null ? query : {}) as Record<string, unknown>
  const limit = integer('limit', q.limit, 1, maxLimit)
  const offset = integer('offset', q.offset, 0, maxOffset)
  let fields: readonly EventField[] | undefined
  let rawFields: string | undefined
  if (q.fields !== undefined) {
    if (typeof q.fields !== 'string' || q.fields === '') {
      throw new InvalidQueryError(
        'fields',
        `must be a comma-separated list of ${EVENT_FIELDS.join(', ')}`,
        q.fields,
      )
    }
    rawFields = q.fields
    const names = q.fields.split(',')
    const bad = names.find((n) => !(EVENT_FIELDS as readonly string[]).includes(n))
    if (bad !== undefined) {
      throw new InvalidQueryError(
        'fields',
        `must be a comma-separated list of ${EVENT_FIELDS.join(', ')}`,
        q.fields,
      )
    }
    fields = normalizeFields(names)
  }
  return { limit, offset, fields, rawFields }
}

/** @internal Validates the limits of a page route at registration. */
export function checkPageQueryLimits(limits: PageQueryLimits, prefix: string): void {
  for (const key of ['maxLimit', 'maxOffset'] as const) {
    const v = limits[key]
    if (v !== undefined && !(Number.isSafeInteger(v) && v > 0)) {
      throw new InvalidPluginOptionError(`${prefix}${key}`, 'a positive integer', v)
    }
  }
}

/** Private: one integer parameter, digits only, within [min, max]. */
function integer(field: string, value: unknown, min: number, max: number): number | undefined {
  if (value === undefined) return undefined
  let n: number
  if (typeof value === 'number' && Number.isSafeInteger(value)) n = value
  else if (typeof value === 'string' && DIGITS.test(value)) n = Number(value)
  else throw new InvalidQueryError(field, 'must be an integer written in digits', value)
  if (n < min) throw new InvalidQueryError(field, `must be >= ${min}`, n)
  if (n > max) throw new InvalidQueryError(field, `must be <= ${max}`, n)
  return n
}
