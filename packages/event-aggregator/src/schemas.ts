import { normalizeFields } from './projection.js'
import type { EventField } from './types.js'

/** A JSON Schema object (draft 7 subset used by Fastify and fast-json-stringify). */
export type JsonSchema = Record<string, unknown>

/** @internal The schema of each event field. */
const FIELD_SCHEMAS: Record<EventField, JsonSchema> = {
  id: { type: 'string' },
  name: { type: 'string' },
  userId: { type: 'string' },
  details: { type: 'string' },
}

/** @internal Fields that every event has (`details` is optional). */
const REQUIRED: ReadonlySet<EventField> = new Set(['id', 'name', 'userId'])

/**
 * JSON Schema of one event projected onto `fields` (`id` always included; all fields when
 * omitted). A fresh object each call, so a caller (e.g. Fastify) may annotate it freely.
 */
export function projectedEventJsonSchema(fields?: readonly EventField[]): JsonSchema {
  const canonical = normalizeFields(fields)
  const properties: Record<string, JsonSchema> = {}
  for (const f of canonical) properties[f] = { ...FIELD_SCHEMAS[f] }
  return {
    type: 'object',
    properties,
    required: canonical.filter((f) => REQUIRED.has(f)),
    additionalProperties: false,
  }
}

/** JSON Schema of one full {@link Event}, e.g. for a Fastify route answering one event. */
export const eventJsonSchema: JsonSchema = projectedEventJsonSchema()

/** JSON Schema of a {@link MissingEvent} entry. */
export function missingEventJsonSchema(): JsonSchema {
  return {
    type: 'object',
    properties: { id: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
    required: ['id', 'code', 'message'],
    additionalProperties: false,
  }
}

/**
 * JSON Schema of an {@link EventPage} whose items are projected onto `fields` (all fields when
 * omitted). Use it as a Fastify response schema.
 *
 * @example
 * fastify.get('/users/:id/events', {
 *   schema: { response: { 200: eventPageJsonSchema(['name']) } },
 * }, handler)
 */
export function eventPageJsonSchema(fields?: readonly EventField[]): JsonSchema {
  return {
    type: 'object',
    properties: {
      items: { type: 'array', items: projectedEventJsonSchema(fields) },
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
      missing: { type: 'array', items: missingEventJsonSchema() },
    },
    required: ['items', 'total', 'limit', 'offset', 'missing'],
    additionalProperties: false,
  }
}

/**
 * JSON Schema of a bare array of events projected onto `fields` (all fields when omitted), for
 * routes that answer with just the events.
 */
export function eventArrayJsonSchema(fields?: readonly EventField[]): JsonSchema {
  return { type: 'array', items: projectedEventJsonSchema(fields) }
}
