import { createEventArraySerializer, createPageSerializer } from '@userevents/event-aggregator'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { AppDeps } from '../app.js'
import { writeIdentity } from '../idempotency.js'
import type { Event, EventPage, User } from '../ports.js'
import { callerGoneSignal } from '../request-context.js'
import {
  createdEventResponses,
  eventArrayResponses,
  eventPageResponses,
  userListResponses,
} from '../responses.js'
import {
  addEventBodySchema,
  addEventHeadersSchema,
  emptyQuerySchema,
  idParamsSchema,
  pageQuerySchema,
  parseFields,
} from '../schemas.js'
import { compileUpstreamCheck } from '../upstream-shape.js'

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** Query of the paginated routes, after validation and coercion. */
interface PageQuery {
  limit?: number
  offset?: number
  fields?: string
}

/** Body of `POST /addEvent`, after validation. */
interface AddEventBody {
  name: string
  userId: string
  details?: string
}

/**
 * Registers the event API: the original routes (`/getUsers`, `/getEvents`,
 * `/getEventsByUserId/:id`, `/addEvent`) and the resource-style `/users/:id/events`.
 */
export function registerEventRoutes(app: FastifyInstance, deps: AppDeps): void {
  const { client, aggregator } = deps
  const pageQuery = pageQuerySchema(deps.config.pageMaxLimit)
  const checkUsers = compileUpstreamCheck<User[]>(userListResponses[200], '/getUsers')
  const checkEvents = compileUpstreamCheck<Event[]>(eventArrayResponses[200], '/getEvents')

  app.get(
    '/getUsers',
    { schema: { querystring: emptyQuerySchema, response: userListResponses } },
    async (request, reply) =>
      checkUsers(
        await client.get<unknown>('/getUsers', {
          operation: 'getUsers',
          requestId: request.id,
          signal: callerGoneSignal(reply.raw),
        }),
      ),
  )

  app.get(
    '/getEvents',
    { schema: { querystring: emptyQuerySchema, response: eventArrayResponses } },
    async (request, reply) =>
      checkEvents(
        await client.get<unknown>('/getEvents', {
          operation: 'getEvents',
          requestId: request.id,
          signal: callerGoneSignal(reply.raw),
        }),
      ),
  )

  /** Fetches one page for either paginated route and sets the page headers. */
  const fetchPage = async (
    request: FastifyRequest<{ Params: { id: string }; Querystring: PageQuery }>,
    reply: FastifyReply,
    basePath: string,
  ): Promise<EventPage> => {
    const { id } = request.params
    const { limit, offset, fields } = request.query
    const page = await aggregator.getEventsByUserId(id, {
      limit,
      offset,
      fields: parseFields(fields),
      requestId: request.id,
      signal: callerGoneSignal(reply.raw),
    })
    reply.header('x-total-count', String(page.total))
    const link = linkHeader(basePath, page, fields)
    if (link !== undefined) reply.header('link', link)
    if (page.missing.length > 0) {
      // Ids only: they are header-safe by the id schema; the reasons are in the page route's body.
      reply.header('x-missing-event-ids', page.missing.map((m) => m.id).join(','))
    }
    return page
  }

  app.get<{ Params: { id: string }; Querystring: PageQuery }>(
    '/getEventsByUserId/:id',
    {
      schema: { params: idParamsSchema, querystring: pageQuery, response: eventArrayResponses },
    },
    async (request, reply) => {
      const basePath = `/getEventsByUserId/${encodeURIComponent(request.params.id)}`
      const page = await fetchPage(request, reply, basePath)
      // A projection needs its own schema (only the chosen fields, which are then required);
      // the aggregator compiles one serializer per projection and caches it.
      if (request.query.fields !== undefined) {
        // A custom serializer skips Fastify's default content type, so it is set explicitly.
        reply
          .type(JSON_CONTENT_TYPE)
          .serializer(createEventArraySerializer(parseFields(request.query.fields)))
      }
      // The body stays a bare array so the original clients keep parsing it.
      return page.items
    },
  )

  app.get<{ Params: { id: string }; Querystring: PageQuery }>(
    '/users/:id/events',
    {
      schema: { params: idParamsSchema, querystring: pageQuery, response: eventPageResponses },
    },
    async (request, reply) => {
      const page = await fetchPage(
        request,
        reply,
        `/users/${encodeURIComponent(request.params.id)}/events`,
      )
      if (request.query.fields !== undefined) {
        reply
          .type(JSON_CONTENT_TYPE)
          .serializer(createPageSerializer(parseFields(request.query.fields)))
      }
      return page
    },
  )

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
      const { name, userId, details } = request.body
      const { eventId, idempotencyKey } = writeIdentity(
        request.headers['idempotency-key'],
        request.body,
      )
      const event: Event = { id: eventId, name, userId }
      if (details !== undefined) event.details = details
      try {
        // Its own operation, so its own breaker: the upstream's write route flaps by design, and
        // its open circuit must not turn away the reads, which the upstream answers normally.
        await client.post('/addEvent', event, {
          operation: 'addEvent',
          idempotencyKey,
          requestId: request.id,
          signal: callerGoneSignal(reply.raw),
        })
      } catch (err) {
        // The id is ours and unique, so "already exists" means an earlier attempt of this very
        // write landed (a retry after a lost answer): the event is there exactly once.
        if (!isConflict(err)) throw err
        request.log.info({ eventId }, 'addEvent: event already stored by an earlier attempt')
      }
      return reply.code(201).send(event)
    },
  )
}

/**
 * Private: RFC 8288 `Link` with `rel="next"` (and `rel="prev"`), as URI references relative to
 * the request, keeping the caller's `fields` so following the link returns the same projection.
 */
function linkHeader(
  basePath: string,
  page: EventPage,
  fields: string | undefined,
): string | undefined {
  const url = (offset: number) => {
    const query = new URLSearchParams({ limit: String(page.limit), offset: String(offset) })
    if (fields !== undefined) query.set('fields', fields)
    return `<${basePath}?${query.toString()}>`
  }
  const links: string[] = []
  if (page.offset + page.limit < page.total)
    links.push(`${url(page.offset + page.limit)}; rel="next"`)
  if (page.offset > 0) links.push(`${url(Math.max(0, page.offset - page.limit))}; rel="prev"`)
  return links.length > 0 ? links.join(', ') : undefined
}

/** Private: an upstream 409, by the client error's code and status. */
function isConflict(err: unknown): boolean {
  const e = err as { code?: unknown; status?: unknown } | null
  return e?.code === 'UPSTREAM_HTTP_STATUS' && e.status === 409
}
