import { errorBodySchema, userSchema } from './schemas.js'

// TODO(integration): replace with the aggregator's exported schemas once it lands.
const eventJsonSchema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    userId: { type: 'string' },
    details: { type: 'string' },
  },
} as const

/** Error answers of every route: 4xx and 5xx share `{ error, message, code?, retryAfterSeconds? }`. */
export const errorResponses = { '4xx': errorBodySchema, '5xx': errorBodySchema } as const

/** Response schemas of `GET /getEvents`. */
export const eventListResponses = {
  200: { type: 'array', items: eventJsonSchema },
  ...errorResponses,
} as const

/**
 * Response schemas of `GET /getEventsByUserId/:id`: one page as a bare array. Only `id` is
 * required, so one schema serves every `fields=` projection.
 */
export const eventArrayResponses = eventListResponses

/** Response schemas of `GET /users/:id/events`: the whole page object. */
export const eventPageResponses = {
  200: {
    type: 'object',
    required: ['items', 'total', 'limit', 'offset', 'missing'],
    properties: {
      items: { type: 'array', items: eventJsonSchema },
      total: { type: 'integer' },
      limit: { type: 'integer' },
      offset: { type: 'integer' },
      missing: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'code', 'message'],
          properties: {
            id: { type: 'string' },
            code: { type: 'string' },
            message: { type: 'string' },
          },
        },
      },
    },
  },
  ...errorResponses,
} as const

/** Response schemas of `POST /addEvent`. */
export const createdEventResponses = { 201: eventJsonSchema, ...errorResponses } as const

/** Response schemas of `GET /getUsers`. */
export const userListResponses = {
  200: { type: 'array', items: userSchema },
  ...errorResponses,
} as const
