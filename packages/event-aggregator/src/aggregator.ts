import type { SharedStore } from '@userevents/upstream-client'
import { EventNotFoundError } from './errors/event-not-found-error.js'
import { InvalidUpstreamDataError } from './errors/invalid-upstream-data-error.js'
import { UpstreamUnavailableError } from './errors/upstream-unavailable-error.js'
import { UserNotFoundError } from './errors/user-not-found-error.js'
import { AggregatorValidationError } from './errors/validation-error.js'
import {
  type CacheMap,
  type Clock,
  type LoaderCacheOptions,
  validateCacheOption,
} from './loader/cache.js'
import { createLoader, type Loader } from './loader/loader.js'
import { normalizeFields, projector } from './projection.js'
import { createPageSpan } from './telemetry.js'
import type { Event, EventField, EventPage, MissingEvent, ProjectedEvent, User } from './types.js'
import { integerInRange, nonEmptyString, optionalObject } from './validate.js'

/**
 * The part of `@userevents/upstream-client`'s `UpstreamClient` the aggregator uses. Any object
 * with a compatible `get` works (e.g. in tests, or another HTTP client behind an adapter); its
 * errors are recognised by their `code`/`status`, as the client's type guards do.
 */
export interface AggregatorClient {
  /**
   * GET `path` (relative to the client's base URL) and resolve with the parsed JSON body.
   * `operation` names the route (`getUserById`, `getEventById`, `getEventsByIds`), so a client
   * with per-operation breakers, limits and metrics keys each route on its own; a client without
   * such a notion may ignore it. `deadlineMs` is what is left of the caller's deadline.
   * `cache: false` comes with the reads whose results the aggregator's own cache keeps (users
   * with `userCache`, events with `cache`): a client's GET cache would hold a second copy, and
   * the two TTLs would add up to how old an answer can be. A client without a cache ignores it.
   */
  get<T>(
    path: string,
    options?: {
      signal?: AbortSignal
      requestId?: string
      operation?: string
      deadlineMs?: number
      cache?: boolean
    },
  ): Promise<T>
  /**
   * The client's learned concurrency limit of an operation (`getUserById`, `getEventById`,
   * `getEventsByIds`), or `undefined` when it has none. When present, the aggregator's window
   * for that operation follows it (never above `concurrency`).
   */
  limit?(operation: string): number | undefined
}

/** The batch route of the upstream, e.g. `GET /getEventsByIds?ids=1,2,3`. */
export interface BatchRouteOptions {
  /** The route path; ids are appended as `?ids=a,b,c`. Default `/getEventsByIds`. */
  path?: string
  /** The most ids per call. Default 100. */
  maxIds?: number
}

/** Options of {@link createEventAggregator}. */
export interface EventAggregatorOptions {
  /** The upstream client (`createUpstreamClient(...)`). Retries, timeouts and the breaker are its job. */
  client: AggregatorClient
  /**
   * The most upstream event calls in flight at once (sliding window). Default 50. When the client
   * has an adaptive concurrency limit (`limit()`), the window follows it, up to this.
   */
  concurrency?: number
  /** Per-event cache: `{ ttlMs, max }`, any get/set/delete/clear map, or `false`. Default `{ ttlMs: 60_000, max: 10_000 }`. */
  cache?: LoaderCacheOptions | CacheMap<string, Event> | false
  /** Cache of users (their event-id lists). Default `{ ttlMs: 5_000, max: 1_000 }`; short, since lists grow. */
  userCache?: LoaderCacheOptions | CacheMap<string, User> | false
  /** Use the upstream's batch route; `false` (the default) reads events one by one. */
  batch?: BatchRouteOptions | false
  /** `limit` when none is given. Default 50. */
  defaultLimit?: number
  /** The largest accepted `limit` (and `pageSize`). Default 200. */
  maxLimit?: number
  /** Serve expired cached users/events when the upstream fails (e.g. circuit open). Default `false`. */
  staleIfError?: boolean
  /** Clock of the caches' TTLs; inject one in tests. Default `performance`. */
  clock?: Clock
  /**
   * A tier shared by every replica (e.g. `createRedisStore()` from `@userevents/redis`) behind
   * both caches (keys `event:<id>` and `user:<id>`, each with its cache's `ttlMs`): a restarted
   * replica starts warm, and a cold page asked on several replicas at once is read from the
   * upstream once. Needs the built-in caches; a cache set to `false` stays out of it. Default none.
   */
  store?: SharedStore
}

/** Options of {@link EventAggregator.getEventsByUserId}. */
export interface GetEventsOptions<K extends EventField = EventField> {
  /** Page size, 1..`maxLimit`. Default `defaultLimit` (50). */
  limit?: number
  /** Index of the first event of the page in the user's list, >= 0. Default 0. */
  offset?: number
  /** Fields to return; `id` is always included. Default: every field. */
  fields?: readonly K[]
  /** Abort: the call rejects with `signal.reason`. */
  signal?: AbortSignal
  /** Passed to the client for log correlation. */
  requestId?: string
  /**
   * The caller's remaining time, in ms: each upstream call made for this request gets what is
   * left of it as its `deadlineMs` (and so propagates it upstream). Default: the client's own.
   */
  deadlineMs?: number
}

/** Options of {@link EventAggregator.iterateEventsByUserId}. */
export interface IterateEventsOptions<K extends EventField = EventField> {
  /** Events per page, 1..`maxLimit`. Default `defaultLimit` (50). */
  pageSize?: number
  /** Fields to return; `id` is always included. Default: every field. */
  fields?: readonly K[]
  /** Abort: the iteration rejects with `signal.reason`. */
  signal?: AbortSignal
  /** Passed to the client for log correlation. */
  requestId?: string
  /**
   * The caller's remaining time, in ms: each upstream call made for this request gets what is
   * left of it as its `deadlineMs` (and so propagates it upstream). Default: the client's own.
   */
  deadlineMs?: number
}

/** A user's events, one page at a time; see {@link createEventAggregator}. */
export interface EventAggregator {
  /**
   * One page of a user's events: fetches the user, slices the page of ids, and loads only those
   * events (from the cache, requests already in flight, or the upstream). Items keep the user's
   * order; ids that still fail after the client's retries are listed in `missing`.
   *
   * @throws UserNotFoundError when the upstream answers 404 for the user
   * @throws AggregatorValidationError for a bad `userId`, `limit`, `offset` or field
   * @throws UpstreamUnavailableError when the circuit is open (or the client's concurrency limit
   * refuses the calls) and nothing usable is cached
   */
  getEventsByUserId<K extends EventField = EventField>(
    userId: string,
    options?: GetEventsOptions<K>,
  ): Promise<EventPage<ProjectedEvent<K>>>
  /**
   * Walks every page of a user's events (a snapshot of the user's id list taken at the start),
   * holding at most the current page and the next one, which is prefetched. Yields nothing for a
   * user without events. Stopping early (`break`) cancels the prefetch.
   */
  iterateEventsByUserId<K extends EventField = EventField>(
    userId: string,
    options?: IterateEventsOptions<K>,
  ): AsyncGenerator<EventPage<ProjectedEvent<K>>, void, undefined>
  /** The underlying event loader (cache, coalescing, concurrency), e.g. to `prime` or `clear`. */
  readonly events: Loader<Event>
  /** The underlying user loader. */
  readonly users: Loader<User>
  /**
   * The largest `limit` / `pageSize` this aggregator accepts (its `maxLimit` option, default
   * 200), so a route in front of it can refuse a larger limit at registration rather than answer
   * 400 at request time.
   */
  readonly maxLimit: number
}

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
  optionalObject('options', options)
  if (options === undefined) throw new AggregatorValidationError('options', 'an object', options)
  const { client } = options
  if (typeof client !== 'object' || client === null || typeof client.get !== 'function') {
    throw new AggregatorValidationError('client', 'an object with a `get` method', client)
  }
  const maxLimit = integerInRange('maxLimit', options.maxLimit ?? 200, 1, Number.MAX_SAFE_INTEGER)
  if (options.defaultLimit === undefined && maxLimit < 50) {
    // The caller set only `maxLimit`: say where the 50 comes from rather than quote a value they
    // never wrote.
    const error = new AggregatorValidationError('defaultLimit', 'an integer', 50)
    error.message = `Expected \`defaultLimit\` to be an integer between 1 and ${maxLimit} (\`maxLimit\`), got its default 50: set \`defaultLimit\` too when \`maxLimit\` is below 50`
    throw error
  }
  const defaultLimit = integerInRange('defaultLimit', options.defaultLimit ?? 50, 1, maxLimit)
  const concurrency = integerInRange(
    'concurrency',
    options.concurrency ?? 50,
    1,
    Number.MAX_SAFE_INTEGER,
  )
  if (client.limit !== undefined && typeof client.limit !== 'function') {
    throw new AggregatorValidationError('client.limit', 'a function', client.limit)
  }
  // The window of an operation follows the client's learned limit of it, when it has one.
  const windowOf = (operation: string) => {
    const limit = client.limit
    if (limit === undefined) return {}
    return { window: () => limit.call(client, operation) ?? concurrency }
  }
  const staleIfError = options.staleIfError ?? false
  if (typeof staleIfError !== 'boolean') {
    throw new AggregatorValidationError('staleIfError', 'a boolean', staleIfError)
  }
  const batch = batchOptions(options.batch)
  validateCacheOption('cache', options.cache)
  validateCacheOption('userCache', options.userCache)
  if (options.store !== undefined) {
    for (const [field, cache] of [
      ['cache', options.cache],
      ['userCache', options.userCache],
    ] as const) {
      if (
        cache !== undefined &&
        cache !== false &&
        typeof (cache as LoaderCacheOptions).ttlMs !== 'number'
      ) {
        throw new AggregatorValidationError(
          field,
          'the built-in `{ ttlMs, max }` cache or `false` when `store` is given (the shared tier uses its ttlMs)',
          '[cache map]',
        )
      }
    }
  }
  // A cache turned off (`false`) keeps its loader out of the shared tier too.
  const shared = (namespace: string, cache: unknown) =>
    options.store === undefined || cache === false
      ? {}
      : { store: options.store, storeNamespace: namespace }
  // Stale data is a better answer than an error only while the upstream is failing; a 404 or a
  // malformed answer is the upstream's real answer and must not be papered over.
  const staleUnlessDefinitive = (e: unknown) =>
    staleIfError && !(e instanceof EventNotFoundError) && !(e instanceof InvalidUpstreamDataError)
      ? statusOf(e) !== 404
      : false

  // Whether the aggregator keeps users and events itself: then its reads skip the client's cache.
  const userCached = options.userCache !== false
  const eventsCached = options.cache !== false
  const users = createLoader<User>({
    load: async (id, { signal, context }) =>
      checkUser(
        id,
        await client.get<unknown>(
          `/getUserById/${encodeURIComponent(id)}`,
          callOptions('getUserById', signal, context, userCached),
        ),
      ),
    concurrency,
    ...windowOf('getUserById'),
    cache: options.userCache ?? { ttlMs: 5_000, max: 1_000 },
    ...shared('user', options.userCache),
    staleIfError: staleUnlessDefinitive,
    ...(options.clock ? { clock: options.clock } : {}),
  })

  const loadOne = async (id: string, signal: AbortSignal, context: unknown): Promise<Event> => {
    try {
      const body = await client.get<unknown>(
        `/getEventById/${encodeURIComponent(id)}`,
        callOptions('getEventById', signal, context, eventsCached),
      )
      return checkEvent(id, body)
    } catch (error) {
      if (statusOf(error) === 404) throw new EventNotFoundError(id, { cause: error })
      throw error
    }
  }

  // Flipped once the upstream shows it has no batch route, so later pages go straight to
  // single reads instead of paying a failed batch call each time.
  let batchAvailable = batch !== false
  const events = createLoader<Event>({
    load: (id, { signal, context }) => loadOne(id, signal, context),
    ...(batch === false
      ? {}
      : {
          maxBatchSize: batch.maxIds,
          batchLoad: async (ids, { signal, context }) => {
            if (!batchAvailable) return null
            let body: unknown
            try {
              const query = ids.map(encodeURIComponent).join(',')
              body = await client.get<unknown>(
                `${batch.path}?ids=${query}`,
                callOptions('getEventsByIds', signal, context, eventsCached),
              )
            } catch (error) {
              const status = statusOf(error)
              if (status === 404 || status === 405 || status === 501) {
                batchAvailable = false
                return null
              }
              throw error
            }
            return batchResults(ids, body)
          },
        }),
    concurrency,
    ...windowOf(batch === false ? 'getEventById' : 'getEventsByIds'),
    cache: options.cache ?? { ttlMs: 60_000, max: 10_000 },
    ...shared('event', options.cache),
    staleIfError: staleUnlessDefinitive,
    ...(options.clock ? { clock: options.clock } : {}),
  })

  const loadUser = async (
    userId: string,
    signal: AbortSignal | undefined,
    context: CallContext,
  ) => {
    try {
      return await users.load(userId, { signal, context })
    } catch (error) {
      if (signal?.aborted) throw error
      if (statusOf(error) === 404) throw new UserNotFoundError(userId, { cause: error })
      if (isUnavailable(error)) {
        throw new UpstreamUnavailableError(
          `Cannot load user ${JSON.stringify(userId)}: the upstream ${unavailableReason(error)} and the user is not cached`,
          { cause: error, retryAfterMs: retryAfterOf(error) },
        )
      }
      throw error
    }
  }

  const loadPage = async <K extends EventField>(
    user: User,
    offset: number,
    limit: number,
    fields: readonly EventField[],
    signal: AbortSignal | undefined,
    context: CallContext,
  ): Promise<EventPage<ProjectedEvent<K>>> => {
    const ids = user.events.slice(offset, offset + limit)
    const results = await events.loadMany(ids, { signal, context })
    const project = projector(fields)
    const items: ProjectedEvent<K>[] = []
    const missing: MissingEvent[] = []
    let circuitOpen: unknown
    for (let i = 0; i < ids.length; i++) {
      const r = results[i]!
      if (r instanceof Error) {
        const code = codeOf(r) ?? 'UNKNOWN'
        if (isUnavailable(r)) circuitOpen = r
        missing.push({ id: ids[i]!, code, message: missingMessage(code, r) })
      } else {
        items.push(project(r) as ProjectedEvent<K>)
      }
    }
    if (circuitOpen !== undefined && items.length === 0) {
      throw new UpstreamUnavailableError(
        `Cannot load the events of user ${JSON.stringify(user.id)}: the upstream ${unavailableReason(circuitOpen)} and none of the ${ids.length} events of the page is cached`,
        { cause: circuitOpen, retryAfterMs: retryAfterOf(circuitOpen) },
      )
    }
    return { items, total: user.events.length, limit, offset, missing }
  }

  // Looked up once: with no OpenTelemetry SDK (or no API installed) pages load with no span.
  const pageSpan = createPageSpan()

  return {
    events,
    users,
    maxLimit,
    async getEventsByUserId<K extends EventField = EventField>(
      userId: string,
      opts: GetEventsOptions<K> = {},
    ) {
      optionalObject('options', opts)
      userIdArgument(userId)
      const limit = integerInRange('limit', opts.limit ?? defaultLimit, 1, maxLimit)
      const offset = integerInRange('offset', opts.offset ?? 0, 0, Number.MAX_SAFE_INTEGER)
      const fields = normalizeFields(opts.fields)
      const context = callContext(opts.requestId, opts.deadlineMs)
      const load = async () => {
        const user = await loadUser(userId, opts.signal, context)
        return loadPage<K>(user, offset, limit, fields, opts.signal, context)
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
        const user = await loadUser(userId, signal, context)
        const total = user.events.length
        const fetch = (offset: number) => {
          const load = () => loadPage<K>(user, offset, pageSize, fields, signal, context)
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

/** @internal Validates `batch` and fills its defaults. */
function batchOptions(
  batch: BatchRouteOptions | false | undefined,
): { path: string; maxIds: number } | false {
  if (batch === undefined || batch === false) return false
  optionalObject('batch', batch)
  const path = batch.path ?? '/getEventsByIds'
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new AggregatorValidationError('batch.path', 'a path starting with "/"', path)
  }
  const maxIds = integerInRange('batch.maxIds', batch.maxIds ?? 100, 1, Number.MAX_SAFE_INTEGER)
  return { path, maxIds }
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

/**
 * @internal Client call options; only set keys are passed (the client validates them). The
 * operation names the route, whatever path it is served under.
 */
function callOptions(operation: string, signal: AbortSignal, context: unknown, cached: boolean) {
  const { requestId, deadlineAt } = (context ?? {}) as CallContext
  const options: {
    operation: string
    signal: AbortSignal
    requestId?: string
    deadlineMs?: number
    cache?: boolean
  } = { operation, signal }
  // The aggregator's cache is the one cache of what it keeps (see `AggregatorClient.get`).
  if (cached) options.cache = false
  if (requestId !== undefined) options.requestId = requestId
  // What is left of the caller's deadline when this upstream call starts (at least 1 ms: the
  // client then fails it as a deadline timeout instead of rejecting 0 as an invalid option).
  if (deadlineAt !== undefined) options.deadlineMs = Math.max(1, deadlineAt - performance.now())
  return options
}

/** @internal What a load passes on to its upstream calls: the request id and the deadline. */
interface CallContext {
  requestId?: string | undefined
  /** `performance.now()` time by which the caller needs its answer. */
  deadlineAt?: number | undefined
}

/** @internal The load context of one aggregator call; the deadline is fixed when it starts. */
function callContext(requestId: string | undefined, deadlineMs: number | undefined): CallContext {
  if (deadlineMs !== undefined && !(typeof deadlineMs === 'number' && deadlineMs > 0)) {
    throw new AggregatorValidationError(
      'deadlineMs',
      'a positive number of milliseconds',
      deadlineMs,
    )
  }
  return {
    requestId,
    deadlineAt: deadlineMs === undefined ? undefined : performance.now() + deadlineMs,
  }
}

/** @internal Maps a batch answer (an array of the found events) to one entry per id. */
function batchResults(ids: string[], body: unknown): Array<Event | Error> {
  if (!Array.isArray(body)) {
    throw new InvalidUpstreamDataError(
      `Expected the batch route to answer with an array of events, got ${typeof body}`,
    )
  }
  const byId = new Map<string, unknown>()
  for (const e of body) {
    if (typeof e === 'object' && e !== null && typeof (e as Event).id === 'string') {
      byId.set((e as Event).id, e)
    }
  }
  return ids.map((id) => {
    const e = byId.get(id)
    if (e === undefined) return new EventNotFoundError(id)
    try {
      return checkEvent(id, e)
    } catch (error) {
      return error as Error
    }
  })
}

/** @internal Throws unless the body looks like the event `id`. */
function checkEvent(id: string, body: unknown): Event {
  if (typeof body !== 'object' || body === null || (body as Event).id !== id) {
    throw new InvalidUpstreamDataError(
      `Expected an event with id ${JSON.stringify(id)} from the upstream, got ${preview(body)}`,
    )
  }
  return body as Event
}

/** @internal Throws unless the body looks like a user with an `events` array of ids. */
function checkUser(id: string, body: unknown): User {
  const events = (body as User | null)?.events
  if (
    typeof body !== 'object' ||
    body === null ||
    !Array.isArray(events) ||
    !events.every((e) => typeof e === 'string')
  ) {
    throw new InvalidUpstreamDataError(
      `Expected user ${JSON.stringify(id)} to have an \`events\` array of string ids, got ${preview(body)}`,
    )
  }
  return body as User
}

/** @internal The `code` of an error, if it has a string one (client and aggregator errors do). */
function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/**
 * @internal Whether the client refused the call without asking the upstream: an open circuit, or
 * a concurrency limit (`maxInFlight` or the adaptive limit), whose `ConcurrencyLimitError` shares
 * the open circuit's code. Both mean "try again shortly" and both carry `retryAfterMs`.
 */
function isUnavailable(error: unknown): boolean {
  return codeOf(error) === 'UPSTREAM_CIRCUIT_OPEN'
}

/** @internal The reason of an {@link isUnavailable} error, for messages. */
function unavailableReason(error: unknown): string {
  return (error as { name?: unknown } | null)?.name === 'ConcurrencyLimitError'
    ? 'concurrency limit refused the call'
    : 'circuit is open'
}

/**
 * @internal The message of a `missing` entry, built from the error's code alone. A page is an
 * answer for the caller, and the client's own message names the upstream's address and the
 * breaker (`GET http://10.0.0.7:8080/getEventById/2: circuit 'events' is open, ...`): internals a
 * caller must not see. The full error is still what `loadMany` returns, and what the client logs.
 */
function missingMessage(code: string, error: unknown): string {
  switch (code) {
    case 'EVENT_NOT_FOUND':
      return 'The event was not found upstream'
    case 'UPSTREAM_CIRCUIT_OPEN':
      return unavailableReason(error) === 'circuit is open'
        ? 'The upstream is unavailable (circuit open); retry later'
        : 'The upstream is busy (concurrency limit); retry later'
    case 'UPSTREAM_TIMEOUT':
      return 'The upstream did not answer in time'
    case 'UPSTREAM_NETWORK':
      return 'The upstream could not be reached'
    case 'UPSTREAM_ABORTED':
      return 'The request was aborted'
    case 'UPSTREAM_HTTP_STATUS': {
      const status = statusOf(error)
      return status === undefined
        ? 'The upstream refused the request'
        : `The upstream answered ${status}`
    }
    case 'UPSTREAM_INVALID_DATA':
    case 'UPSTREAM_INVALID_BODY':
    case 'UPSTREAM_BODY_TOO_LARGE':
      return 'The upstream sent an answer that cannot be read'
    default:
      return 'The event could not be loaded'
  }
}

/** @internal The HTTP status of a client error (`UpstreamHttpError.status`). */
function statusOf(error: unknown): number | undefined {
  if (codeOf(error) !== 'UPSTREAM_HTTP_STATUS') return undefined
  const status = (error as { status?: unknown }).status
  return typeof status === 'number' ? status : undefined
}

/** @internal `retryAfterMs` of a client error, if any. */
function retryAfterOf(error: unknown): number | undefined {
  const ms = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs
  return typeof ms === 'number' ? ms : undefined
}

/** @internal A short rendering of a body for error messages. */
function preview(body: unknown): string {
  try {
    const s = JSON.stringify(body) ?? String(body)
    return s.length > 120 ? `${s.slice(0, 117)}...` : s
  } catch {
    return String(body)
  }
}

/** @internal */
function noop() {}
