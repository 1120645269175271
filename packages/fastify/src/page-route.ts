import {
  createEventArraySerializer,
  createPageSerializer,
  type EventField,
  type EventPage,
  eventArrayJsonSchema,
  eventPageJsonSchema,
  type ProjectedEvent,
} from '@userevents/event-aggregator'
import type { FastifyInstance, FastifyReply } from 'fastify'
import { InvalidPluginOptionError, InvalidQueryError } from './errors/plugin-error.js'
import {
  checkPageQueryLimits,
  DEFAULT_MAX_LIMIT,
  type PageQuery,
  type PageQueryLimits,
  pageQuerySchema,
  parsePageQuery,
} from './page-query.js'
import { requireDecorators } from './plugin.js'

const JSON_CONTENT_TYPE = 'application/json; charset=utf-8'

/** Options of {@link registerEventPageRoute}. */
export interface EventPageRouteOptions extends PageQueryLimits {
  /** The route's URL; it must have an `:id` parameter (the user id), e.g. `/users/:id/events`. */
  url: string
  /**
   * `page` (default): the page object `{ items, total, limit, offset, missing }`;
   * `items`: the bare array of events (what older clients parse), the rest in headers.
   */
  body?: 'page' | 'items'
  /** JSON Schema of the `:id` parameter. Default: 1 to 64 of `A-Z a-z 0-9 _ -`. */
  idSchema?: Record<string, unknown>
}

/** The default `:id` schema: URL- and header-safe ids. */
const DEFAULT_ID_SCHEMA = {
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9_-]+$',
} as const

/**
 * Registers `GET <url>` serving one page of a user's events from `app.eventAggregator`:
 * `?limit&offset&fields` parsed by {@link parsePageQuery} (digits only, typed fields), the
 * reply's `upstreamContext()` passed to the aggregator, `X-Total-Count`, an RFC 8288 `Link`
 * (`next`/`prev`, keeping `fields`) and `X-Missing-Event-Ids` headers, and the aggregator's
 * per-projection serializer with an explicit `application/json` content type (a custom
 * serializer skips Fastify's default one).
 *
 * @throws InvalidPluginOptionError at registration, for a bad option, a `maxLimit` above the
 * aggregator's (`app.eventAggregator.maxLimit`), or an instance without the plugin
 *
 * @example
 * ```ts
 * import Fastify from 'fastify'
 * import { registerEventPageRoute, userEvents } from '@userevents/fastify'
 *
 * const app = Fastify()
 * await app.register(userEvents, { client: { baseUrl: 'http://127.0.0.1:4000' } })
 * registerEventPageRoute(app, { url: '/users/:id/events', maxLimit: 100 })
 * ```
 */
export function registerEventPageRoute(app: FastifyInstance, options: EventPageRouteOptions): void {
  requireDecorators(app)
  if (typeof options?.url !== 'string' || !/(^|\/):id(\/|$)/.test(options.url)) {
    throw new InvalidPluginOptionError('url', 'a route URL with an `:id` parameter', options?.url)
  }
  const shape = options.body ?? 'page'
  if (shape !== 'page' && shape !== 'items') {
    throw new InvalidPluginOptionError('body', "'page' or 'items'", shape)
  }
  checkPageQueryLimits(options, '')
  // A limit the route accepts but its aggregator refuses would pass registration and answer 400
  // with the aggregator's message at request time; refuse it here. An aggregator of an older copy
  // has no `maxLimit`, and is left unchecked.
  const aggregatorMax = (app.eventAggregator as { maxLimit?: unknown }).maxLimit
  const ceiling = typeof aggregatorMax === 'number' ? aggregatorMax : undefined
  if (ceiling !== undefined && options.maxLimit !== undefined && options.maxLimit > ceiling) {
    throw new InvalidPluginOptionError(
      'maxLimit',
      `an integer between 1 and ${ceiling} (the aggregator's \`maxLimit\`)`,
      options.maxLimit,
    )
  }
  const limits: PageQueryLimits = {
    // Without its own, the route takes the aggregator's ceiling when that is lower than the
    // default, so `?limit=` above it is the route's 400 INVALID_INPUT, not the aggregator's.
    maxLimit:
      options.maxLimit ??
      (ceiling !== undefined ? Math.min(ceiling, DEFAULT_MAX_LIMIT) : undefined),
    maxOffset: options.maxOffset,
  }

  app.get<{ Params: { id: string } }>(
    options.url,
    {
      schema: {
        params: {
          type: 'object',
          required: ['id'],
          properties: { id: options.idSchema ?? DEFAULT_ID_SCHEMA },
        },
        querystring: pageQuerySchema(),
        response: { 200: shape === 'page' ? eventPageJsonSchema() : eventArrayJsonSchema() },
      },
    },
    // Not async: a page fresh in the aggregator's caches is answered synchronously (`peek`), with
    // no promise, no microtask turn and, with an OpenTelemetry SDK on Node 20/22, no context copy
    // per promise; only a page that loads something awaits the aggregator.
    (request, reply) => {
      // Fastify's default Ajv (`removeAdditional: true`) silently drops what
      // `additionalProperties: false` should reject; an app whose Ajv keeps them has answered
      // 400 already. So the raw query is checked here, where only dropped ones can remain.
      rejectUnknownQuery(request.url)
      const query = parsePageQuery(request.query, limits)
      const { id } = request.params
      const aggregator = app.eventAggregator
      const page = { limit: query.limit, offset: query.offset, fields: query.fields }
      // An aggregator from an older copy of the package has no `peek`: it is always awaited.
      const cached = aggregator.peekEventsByUserId?.(id, page)
      if (cached !== undefined) return answer(reply, cached, query)
      return aggregator
        .getEventsByUserId(id, { ...page, ...reply.upstreamContext() })
        .then((loaded) => answer(reply, loaded, query))
    },
  )

  /** The page's headers and body (a projection gets its own serializer). */
  function answer(
    reply: FastifyReply,
    page: EventPage<ProjectedEvent<EventField>>,
    query: PageQuery,
  ) {
    const { request } = reply
    reply.header('x-total-count', String(page.total))
    const basePath = request.url.split('?')[0] ?? request.url
    const link = linkHeader(basePath, page, query.rawFields)
    if (link !== undefined) reply.header('link', link)
    if (page.missing.length > 0) {
      // Ids only (header-safe by the id schema); the reasons are in the page body.
      reply.header('x-missing-event-ids', page.missing.map((m) => m.id).join(','))
    }
    if (query.fields !== undefined) {
      // A projection has its own schema (only the chosen fields); the aggregator compiles one
      // serializer per projection and caches it.
      reply
        .type(JSON_CONTENT_TYPE)
        .serializer(
          shape === 'page'
            ? createPageSerializer(query.fields)
            : createEventArraySerializer(query.fields),
        )
    }
    return shape === 'page' ? page : page.items
  }
}

/** Private: the parameters of a paged route's query. */
const PAGE_QUERY_KEYS = new Set(['limit', 'offset', 'fields'])

/** Private: a 400 for the first parameter of the request's raw query the route does not know. */
function rejectUnknownQuery(url: string): void {
  const at = url.indexOf('?')
  if (at === -1) return
  for (const [key, value] of new URLSearchParams(url.slice(at + 1))) {
    if (!PAGE_QUERY_KEYS.has(key)) {
      throw new InvalidQueryError(
        key,
        'is not a parameter of this route (limit, offset, fields)',
        value,
      )
    }
  }
}

/**
 * Private: RFC 8288 `Link` with `rel="next"` (and `rel="prev"`), as URI references relative to
 * the request, keeping the caller's `fields` so following a link returns the same projection.
 */
function linkHeader(
  basePath: string,
  page: EventPage<ProjectedEvent>,
  fields: string | undefined,
): string | undefined {
  const url = (offset: number) => {
    const query = new URLSearchParams({ limit: String(page.limit), offset: String(offset) })
    if (fields !== undefined) query.set('fields', fields)
    return `<${basePath}?${query.toString()}>`
  }
  const links: string[] = []
  if (page.offset + page.limit < page.total) {
    links.push(`${url(page.offset + page.limit)}; rel="next"`)
  }
  if (page.offset > 0) links.push(`${url(Math.max(0, page.offset - page.limit))}; rel="prev"`)
  return links.length > 0 ? links.join(', ') : undefined
}
