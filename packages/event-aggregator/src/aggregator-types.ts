import type { SharedStore, SharedStoreV1 } from '@userevents/upstream-client'
import type { CacheMap, Clock, LoaderCacheOptions } from './loader/cache.js'
import type { Loader } from './loader/types.js'
import type { Event, EventField, EventPage, ProjectedEvent, User } from './types.js'

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
      /**
       * Told whether the answer may be stored (`cacheable: false` for `Cache-Control: no-store`,
       * `private`, `Vary: *`); the aggregator then keeps it in neither of its caches. A client
       * that does not call it leaves every answer cacheable, as before.
       */
      onHeaders?: (info: { cacheable: boolean }) => void
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
   * upstream once. Needs the built-in caches; a cache set to `false` stays out of it. A v1 store
   * (`SharedStoreV1`) is adapted. Default none.
   */
  store?: SharedStore | SharedStoreV1
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
   * The page {@link EventAggregator.getEventsByUserId} would answer, when the user and every
   * event of the page are fresh in the aggregator's caches; otherwise
   * `undefined`, and nothing is loaded. Synchronous and without I/O, a span or a promise, for a
   * caller (a route handler, say) that answers at once when it can and awaits
   * `getEventsByUserId` only when it must. Like TanStack Query's `getQueryData`.
   *
   * @throws AggregatorValidationError for a bad `userId`, `limit`, `offset` or field, as
   * `getEventsByUserId` rejects
   *
   * @example
   * const page = aggregator.peekEventsByUserId('1') ?? (await aggregator.getEventsByUserId('1'))
   */
  peekEventsByUserId<K extends EventField = EventField>(
    userId: string,
    options?: GetEventsOptions<K>,
  ): EventPage<ProjectedEvent<K>> | undefined
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
