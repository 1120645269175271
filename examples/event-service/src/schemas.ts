/*
 * JSON Schemas of the service's inputs. Every object schema sets `additionalProperties: false`
 * and the body validator does not coerce types, so unknown fields and wrong types answer 400.
 * Response schemas come from `@userevents/event-aggregator` (see `responses.ts`).
 */

import { EVENT_FIELDS, type EventField } from '@userevents/event-aggregator'

/**
 * Ids are opaque strings. The pattern keeps them URL- and header-safe (they travel in paths and in
 * the `X-Missing-Event-Ids` header) and fits both the seed ids ("1") and generated UUIDs.
 */
export const idSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
} as const

/** `:id` path parameter. */
export const idParamsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: { id: idSchema },
} as const

/** `?limit&offset&fields` of the paginated routes; `maxLimit` comes from the config. */
export function pageQuerySchema(maxLimit: number) {
  return {
    type: 'object',
    additionalProperties: false,
    properties: {
      limit: { type: 'integer', minimum: 1, maximum: maxLimit },
      offset: { type: 'integer', minimum: 0, maximum: 1_000_000 },
      fields: {
        type: 'string',
        // A comma-separated list of known fields, e.g. `name,userId`.
        pattern: `^(${EVENT_FIELDS.join('|')})(,(${EVENT_FIELDS.join('|')}))*$`,
      },
    },
  } as const
}

/** Routes without inputs still reject unknown query parameters. */
export const emptyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const

/** `POST /addEvent` body: `{ name, userId, details? }`; the service generates the id. */
export const addEventBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'userId'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 200 },
    userId: idSchema,
    details: { type: 'string', maxLength: 4_000 },
  },
} as const

/**
 * `Idempotency-Key` request header of `POST /addEvent`. Optional: when a caller sends one, its
 * retries map to the same event id, so a retry after a lost answer never adds a second event.
 */
export const addEventHeadersSchema = {
  type: 'object',
  properties: {
    'idempotency-key': {
      type: 'string',
      minLength: 1,
      maxLength: 200,
      pattern: '^[\\x21-\\x7e]+$',
    },
  },
} as const

/** The JSON error body every non-2xx answer uses. */
export const errorBodySchema = {
  type: 'object',
  required: ['error', 'message'],
  properties: {
    error: { type: 'string' },
    message: { type: 'string' },
    code: { type: 'string' },
    retryAfterSeconds: { type: 'integer' },
  },
} as const

/** `User` as the upstream returns it. */
export const userSchema = {
  type: 'object',
  required: ['id', 'userName', 'email', 'events'],
  properties: {
    id: { type: 'string' },
    userName: { type: 'string' },
    email: { type: 'string' },
    events: { type: 'array', items: { type: 'string' } },
  },
} as const

/** Parses a validated `fields` query value into a list of field names. */
export function parseFields(fields: string | undefined): EventField[] | undefined {
  if (fields === undefined) return undefined
  return [...new Set(fields.split(','))] as EventField[]
}
