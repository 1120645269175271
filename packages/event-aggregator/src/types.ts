/** An event as the upstream serves it. All ids are strings. */
export interface Event {
  /** The event id. */
  id: string
  /** The event name. */
  name: string
  /** The id of the user the event belongs to. */
  userId: string
  /** Free text; absent on some events. */
  details?: string
}

/** A user as the upstream serves it; `events` lists the user's event ids in order. */
export interface User {
  /** The user id. */
  id: string
  /** The user's display name. */
  userName: string
  /** The user's email address. */
  email: string
  /** The ids of the user's events, in the user's order. */
  events: string[]
}

/** A field of {@link Event} that can be selected with `fields`. */
export type EventField = keyof Event

/** An event projected onto the fields `K`; `id` is always included. */
export type ProjectedEvent<K extends EventField = EventField> = Pick<Event, K | 'id'>

/** An event of the page that could not be loaded (after the client's retries). */
export interface MissingEvent {
  /** The event id, as listed by the user. */
  id: string
  /**
   * Why: `EVENT_NOT_FOUND` (the upstream has no such event), `UPSTREAM_INVALID_DATA`, or the
   * client's error code, e.g. `UPSTREAM_TIMEOUT`, `UPSTREAM_HTTP_STATUS`, `UPSTREAM_CIRCUIT_OPEN`.
   */
  code: string
  /**
   * A human-readable message for the caller, built from `code` only: it never carries the
   * upstream's address, the breaker's name or an upstream body (the full error is what `loadMany`
   * returns, and what the client logs).
   */
  message: string
}

/**
 * One page of a user's events. `items` keep the user's order; ids that failed are listed in
 * `missing` (never silently dropped), so `items.length + missing.length` is the size of the page
 * slice.
 */
export interface EventPage<T> {
  /** The loaded events of this page, in the user's order. */
  items: T[]
  /** How many events the user has in all. */
  total: number
  /** The page size that was applied. */
  limit: number
  /** The index of the first event of this page in the user's list. */
  offset: number
  /** Events of this page that could not be loaded, in the user's order. */
  missing: MissingEvent[]
}
