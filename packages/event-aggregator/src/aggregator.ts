import { resolveAggregatorOptions } from './aggregator-options.js'
import type {
  EventAggregator,
  EventAggregatorOptions,
  GetEventsOptions,
  IterateEventsOptions,
} from './aggregator-types.js'
import { AggregatorValidationError } from './errors/validation-error.js'
import { createAggregatorLoaders } from './loaders.js'
import { cachedPage, loadPage, loadUser } from './pages.js'
import { normalizeFields } from './projection.js'
import { createPageSpan } from './telemetry.js'
import type { EventField, EventPage, ProjectedEvent } from './types.js'
import { callContext } from './upstream-reads.js'
import { integerInRange, nonEmptyString, optionalObject } from './validate.js'

/**
 * Creates the aggregator behind `GET /users/:id/events`: pagination first, a sliding window of
 * at most `concurrency` upstream calls, per-event LRU cache with TTL, coalescing of concurrent
 * requests, optional batch route, projection, and per-id partial failures.
 *
 * @example
 * const aggregator = createEventAggregator({ client: createUpstreamClient({ baseUrl }) })
 * const page = await aggregator.getEventsByUserId('1', { limit: 20, fields: ['name'] })
 * // page.items: { id: string; name: string }[]
 */
export function createEventAggregator(options: EventAggregatorOptions): EventAggregator {
  const resolved = resolveAggregatorOptions(options)
  const { maxLimit, defaultLimit } = resolved
  const { users, events } = createAggregatorLoaders(options, resolved)
  // Looked up once: with no OpenTelemetry SDK (or no API installed) pages load with no span.
  const pageSpan = createPageSpan()

  return {
    events,
    users,
    maxLimit,
    peekEventsByUserId<K extends EventField = EventField>(
      userId: string,
      opts: GetEventsOptions<K> = {},
    ) {
      const { offset, limit, fields } = pageArguments(userId, opts, defaultLimit, maxLimit)
      if (opts.signal?.aborted === true) return undefined
      return cachedPage<K>(users, events, userId, offset, limit, fields)
    },
    async getEventsByUserId<K extends EventField = EventField>(
      userId: string,
      opts: GetEventsOptions<K> = {},
    ) {
      const { offset, limit, fields } = pageArguments(userId, opts, defaultLimit, maxLimit)
      const signal = opts.signal
      // A page served whole from the caches does no I/O: answered here, with no span and no
      // promise of its own (an aborted caller still gets its rejection from the loaders below).
      if (signal?.aborted !== true) {
        const page = cachedPage<K>(users, events, userId, offset, limit, fields)
        if (page !== undefined) return page
      }
      const context = callContext(opts.requestId, opts.deadlineMs)
      const load = async () => {
        const user = await loadUser(users, userId, signal, context)
        return loadPage<K>(events, { user, offset, limit, fields, signal, context })
      }
      if (pageSpan === undefined) return load()
      return pageSpan(
        'getEventsByUserId',
        {
          'userevents.user.id': userId,
          'userevents.page.offset': offset,
          'userevents.page.limit': limit,
        },
        load,
      )
    },
    async *iterateEventsByUserId<K extends EventField = EventField>(
      userId: string,
      opts: IterateEventsOptions<K> = {},
    ) {
      optionalObject('options', opts)
      userIdArgument(userId)
      const pageSize = integerInRange('pageSize', opts.pageSize ?? defaultLimit, 1, maxLimit)
      const fields = normalizeFields(opts.fields)
      // Our own controller, so that leaving the loop early also cancels the prefetched page.
      const controller = new AbortController()
      const outer = opts.signal
      const onAbort = () => controller.abort(outer?.reason)
      if (outer?.aborted) throw outer.reason
      outer?.addEventListener('abort', onAbort, { once: true })
      const signal = controller.signal
      try {
        const context = callContext(opts.requestId, opts.deadlineMs)
        const user = await loadUser(users, userId, signal, context)
        const total = user.events.length
        const fetch = (offset: number): Promise<EventPage<ProjectedEvent<K>>> => {
          const load = () =>
            loadPage<K>(events, { user, offset, limit: pageSize, fields, signal, context })
          const p =
            pageSpan === undefined
              ? load()
              : pageSpan(
                  'iterateEventsByUserId page',
                  {
                    'userevents.user.id': userId,
                    'userevents.page.offset': offset,
                    'userevents.page.limit': pageSize,
                  },
                  load,
                )
          p.catch(noop) // awaited below; this only avoids an unhandled rejection if we stop early
          return p
        }
        let next = total > 0 ? fetch(0) : undefined
        for (let offset = 0; next !== undefined; offset += pageSize) {
          const current = next
          next = offset + pageSize < total ? fetch(offset + pageSize) : undefined
          yield await current
        }
      } finally {
        outer?.removeEventListener('abort', onAbort)
        controller.abort(new DOMException('The iteration stopped', 'AbortError'))
      }
    },
  }
}

/**
 * @internal Validates a caller's user id: a non-empty string that can travel as one path segment
 * (`.` and `..` cannot; the client would refuse the path as its caller's mistake).
 */
function userIdArgument(userId: unknown): void {
  nonEmptyString('userId', userId)
  if (userId === '.' || userId === '..') {
    throw new AggregatorValidationError('userId', 'an id other than "." and ".."', userId)
  }
}

/** @internal */
function noop() {}

/** Private: the validated arguments of one page (the same errors for `get` and `peek`). */
function pageArguments(
  userId: string,
  opts: GetEventsOptions<EventField>,
  defaultLimit: number,
  maxLimit: number,
) {
  optionalObject('options', opts)
  userIdArgument(userId)
  return {
    limit: integerInRange('limit', opts.limit ?? defaultLimit, 1, maxLimit),
    offset: integerInRange('offset', opts.offset ?? 0, 0, Number.MAX_SAFE_INTEGER),
    fields: normalizeFields(opts.fields),
  }
}
