/*
 * JSON Schemas of the service's inputs. Every object schema sets `additionalProperties: false`
 * and the body validator does not coerce types, so unknown fields and wrong types answer 400.
 * Response schemas come from `@userevents/event-aggregator` (see `responses.ts`).
 */

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

/** Routes without inputs still reject unknown query parameters. */
export const emptyQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {},
} as const

/**
 * An id in a JSON body: a string of {@link idSchema}, or (as the original clients send them) a
 * non-negative integer; the route normalises it to its string form.
 */
export const bodyIdSchema = {
  type: ['string', 'integer'],
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
  minimum: 0,
  maximum: Number.MAX_SAFE_INTEGER,
} as const

/**
 * `POST /addEvent` body: `{ name, userId, details?, id? }`. `userId` and `id` may be numbers
 * (the original service accepted them); without `id` the service generates one.
 */
export const addEventBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'userId'],
  properties: {
    id: bodyIdSchema,
    name: { type: 'string', minLength: 1, maxLength: 200 },
    userId: bodyIdSchema,
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
