import { UpstreamUnavailableError } from './errors/upstream-unavailable-error.js'
import { UserNotFoundError } from './errors/user-not-found-error.js'
import type { Loader } from './loader/types.js'
import { projector } from './projection.js'
import type { Event, EventField, EventPage, MissingEvent, ProjectedEvent, User } from './types.js'
import {
  codeOf,
  isUnavailable,
  missingMessage,
  retryAfterOf,
  statusOf,
  unavailableReason,
} from './upstream-errors.js'
import type { CallContext } from './upstream-reads.js'

/**
 * @internal Loads a user, turning the client's answers into the aggregator's errors: a 404 is
 * {@link UserNotFoundError}, a refused call with nothing cached {@link UpstreamUnavailableError}.
 */
export async function loadUser(
  users: Loader<User>,
  userId: string,
  signal: AbortSignal | undefined,
  context: CallContext,
): Promise<User> {
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

/**
 * @internal The page as {@link loadUser} and {@link loadPage} would answer it, when the user and
 * every event of the page are fresh in the loaders' caches; otherwise `undefined` (the caller
 * then loads). Synchronous: no promise, no upstream call, so no span either (the aggregator's
 * `getEventsByUserId` span covers pages that load something).
 */
export function cachedPage<K extends EventField>(
  users: Loader<User>,
  events: Loader<Event>,
  userId: string,
  offset: number,
  limit: number,
  fields: readonly EventField[],
): EventPage<ProjectedEvent<K>> | undefined {
  const user = users.peek(userId)
  if (user === undefined) return undefined
  const ids = user.events.slice(offset, offset + limit)
  const cached: Event[] = new Array(ids.length)
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]
    const event = typeof id === 'string' ? events.peek(id) : undefined
    if (event === undefined) return undefined
    cached[i] = event
  }
  const project = projector(fields)
  const items = cached.map((event) => project(event) as ProjectedEvent<K>)
  return { items, total: user.events.length, limit, offset, missing: [] }
}

/** @internal Where a page is: its user, its first index and size, the fields it shows. */
export interface PageRequest {
  user: User
  offset: number
  limit: number
  fields: readonly EventField[]
  signal: AbortSignal | undefined
  context: CallContext
}

/**
 * @internal Loads one page of a user's events: the ids of the page only, projected, the failed
 * ones in `missing`. A page of which nothing loaded because the upstream refused is an error.
 */
export async function loadPage<K extends EventField>(
  events: Loader<Event>,
  { user, offset, limit, fields, signal, context }: PageRequest,
): Promise<EventPage<ProjectedEvent<K>>> {
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
