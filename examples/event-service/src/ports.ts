import type { Event } from '@userevents/event-aggregator'
import type { ObservableClient } from './metrics.js'

/**
 * What the HTTP layer needs from its collaborators, written as structural types so that
 * `buildApp` depends on capabilities rather than on constructors: the real
 * `@userevents/upstream-client` and `@userevents/event-aggregator` instances satisfy them, and so
 * would another client with the same surface.
 */

export type { Event, User } from '@userevents/event-aggregator'

/** Options the service passes on every upstream call. */
export interface UpstreamCallOptions {
  requestId?: string
  signal?: AbortSignal
  /** The upstream route's name: its own breaker, so a flapping write cannot black out reads. */
  operation?: string
}

/** The upstream client as the routes use it. */
export interface ServiceUpstream extends ObservableClient {
  get<T>(path: string, options?: UpstreamCallOptions): Promise<T>
  post<T>(
    path: string,
    body: unknown,
    options?: UpstreamCallOptions & { idempotencyKey?: string },
  ): Promise<T>
}

/** One page of a user's events, as the aggregator returns it. */
export interface EventPage {
  items: Partial<Event>[]
  total: number
  limit: number
  offset: number
  missing: { id: string; code: string; message: string }[]
}

/** The aggregator as the routes use it. */
export interface ServiceAggregator {
  getEventsByUserId(
    userId: string,
    options: UpstreamCallOptions & {
      limit?: number
      offset?: number
      fields?: readonly (keyof Event)[]
    },
  ): Promise<EventPage>
}
