import { eventArrayJsonSchema, eventJsonSchema } from '@userevents/event-aggregator'
import { errorBodySchema, userSchema } from './schemas.js'

/**
 * Response schemas. Event shapes are the aggregator's exported schemas, so the service and the
 * library cannot drift apart. The paged routes' schemas come with `registerEventPageRoute` of
 * `@userevents/fastify`.
 */

/** Error answers of every route: 4xx and 5xx share `{ error, message, code?, retryAfterSeconds? }`. */
export const errorResponses = { '4xx': errorBodySchema, '5xx': errorBodySchema } as const

/** Response schemas of `GET /getEvents` and `GET /getEventsByUserId/:id` (a bare array). */
export const eventArrayResponses = { 200: eventArrayJsonSchema(), ...errorResponses } as const

/** Response schemas of `POST /addEvent`. */
export const createdEventResponses = { 201: eventJsonSchema, ...errorResponses } as const

/** Response schemas of `GET /getUsers`. */
export const userListResponses = {
  200: { type: 'array', items: userSchema },
  ...errorResponses,
} as const
