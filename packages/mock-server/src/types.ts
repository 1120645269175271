/** One event as the upstream stores and serves it. All ids are JSON strings. */
export interface Event {
  id: string
  name: string
  userId: string
  details?: string
}

/** One user as the upstream serves it; `events` lists the ids of the user's events, in order. */
export interface User {
  id: string
  userName: string
  email: string
  events: string[]
}

/** A complete data set for one mock instance. */
export interface MockData {
  users: User[]
  events: Event[]
}

/**
 * The run-time behaviour of a mock upstream:
 * - `healthy`: no injected failures (configured latencies still apply);
 * - `down`: every data route answers `503`;
 * - `flapping`: the original upstream: the `addEvent` failure cycle and random network errors;
 * - `slow`: healthy, plus `delays.slowExtra` on every data route;
 * - `brownout`: every data route's latency times `brownout.latencyFactor`, a share
 *   `brownout.errorRate` of requests answered `503`, and at most `brownout.capacity` requests
 *   served at once (later ones queue, so latency grows with the load).
 */
export type MockMode = 'healthy' | 'down' | 'flapping' | 'slow' | 'brownout'

/** The names under which calls are counted, one per data route. */
export type RouteName =
  | 'getUsers'
  | 'getUserById'
  | 'getEvents'
  | 'getEventById'
  | 'getEventsByIds'
  | 'addEvent'
