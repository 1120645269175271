import { registerEventPageRoute } from '@userevents/fastify'
import type { FastifyInstance } from 'fastify'
import type { AppDeps } from '../app-deps.js'
import { normalizeEventInput, writeIdentity } from '../idempotency.js'
import type { Event, User } from '../ports.js'
import { createdEventResponses, eventArrayResponses, userListResponses } from '../responses.js'
import {
  addEventBodySchema,
  addEventHeadersSchema,
  emptyQuerySchema,
  idSchema,
} from '../schemas.js'
import { serializedOnce } from '../serialized-once.js'
import { compileUpstreamCheck } from '../upstream-shape.js'

/** Body of `POST /addEvent`, after validation (ids may still be numbers). */
interface AddEventBody {
  id?: string | number
  name: string
  userId: string | number
  details?: string
}

/**
 * Registers the event API: the original routes (`/getUsers`, `/getEvents`,
 * `/getEventsByUserId/:id`, `/addEvent`) and the resource-style `/users/:id/events`.
 */
export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const checkUsers = compileUpstreamCheck<User[]>(userListResponses[200], '/getUsers')
  const checkEvents = compileUpstreamCheck<Event[]>(eventArrayResponses[200], '/getEvents')

  const sendUsers = serializedOnce()
  const sendEvents = serializedOnce()

  app.get(
    '/getUsers',
    { schema: { querystring: emptyQuerySchema, response: userListResponses } },
    async (_request, reply) =>
      sendUsers(
        reply,
        checkUsers(
          await app.upstream.get<unknown>('/getUsers', {
            operation: 'getUsers',
            ...reply.upstreamContext(),
          }),
        ),
      ),
  )

  app.get(
    '/getEvents',
    { schema: { querystring: emptyQuerySchema, response: eventArrayResponses } },
    async (_request, reply) =>
      sendEvents(
        reply,
        checkEvents(
          await app.upstream.get<unknown>('/getEvents', {
            operation: 'getEvents',
            ...reply.upstreamContext(),
          }),
        ),
      ),
  )

  // One page per request; the original route keeps its bare-array body so old clients parse it.
  const page = { maxLimit: deps.config.pageMaxLimit, idSchema }
  registerEventPageRoute(app, { url: '/getEventsByUserId/:id', body: 'items', ...page })
  registerEventPageRoute(app, { url: '/users/:id/events', body: 'page', ...page })

  app.post<{ Body: AddEventBody; Headers: { 'idempotency-key'?: string } }>(
    '/addEvent',
    {
      schema: {
        body: addEventBodySchema,
        headers: addEventHeadersSchema,
        response: createdEventResponses,
      },
    },
    async (request, reply) => {
      const input = normalizeEventInput(request.body)
      const { eventId, idempotencyKey } = writeIdentity(request.headers['idempotency-key'], input)
      const event: Event = { id: eventId, name: input.name, userId: input.userId }
      if (input.details !== undefined) event.details = input.details
      try {
        // Its own operation, so its own breaker: the upstream's write route flaps by design, and
        // its open circuit must not turn away the reads, which the upstream answers normally.
        await app.upstream.post('/addEvent', event, {
          operation: 'addEvent',
          idempotencyKey,
          ...reply.upstreamContext(),
        })
      } catch (err) {
        // The id is ours (or the caller's) and unique, so "already exists" means an earlier
        // attempt of this very write landed (a retry after a lost answer): it is there once.
        if (!isConflict(err)) throw err
        request.log.info({ eventId }, 'addEvent: event already stored by an earlier attempt')
      }
      return reply.code(201).send(event)
    },
  )
}

/** Private: an upstream 409, by the client error's code and status. */
function isConflict(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown } | null
  return e?.code === 'UPSTREAM_HTTP_STATUS' && e.status === 409
}
