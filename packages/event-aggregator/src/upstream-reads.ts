import { EventNotFoundError } from './errors/event-not-found-error.js'
import { InvalidUpstreamDataError } from './errors/invalid-upstream-data-error.js'
import { AggregatorValidationError } from './errors/validation-error.js'
import type { Event, User } from './types.js'

/**
 * @internal Client call options; only set keys are passed (the client validates them). The
 * operation names the route, whatever path it is served under.
 */
export function callOptions(
  operation: string,
  signal: AbortSignal,
  context: unknown,
  cached: boolean,
) {
  const { requestId, deadlineAt } = (context ?? {}) as CallContext
  const options: {
    operation: string
    signal: AbortSignal
    requestId?: string
    deadlineMs?: number
    cache?: boolean
    onHeaders?: (info: { cacheable: boolean }) => void
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
export interface CallContext {
  requestId?: string | undefined
  /** `performance.now()` time by which the caller needs its answer. */
  deadlineAt?: number | undefined
}

/** @internal The load context of one aggregator call; the deadline is fixed when it starts. */
export function callContext(
  requestId: string | undefined,
  deadlineMs: number | undefined,
): CallContext {
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
export function batchResults(ids: string[], body: unknown): Array<Event | Error> {
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
export function checkEvent(id: string, body: unknown): Event {
  if (typeof body !== 'object' || body === null || (body as Event).id !== id) {
    throw new InvalidUpstreamDataError(
      `Expected an event with id ${JSON.stringify(id)} from the upstream, got ${preview(body)}`,
    )
  }
  return body as Event
}

/** @internal Throws unless the body looks like a user with an `events` array of ids. */
export function checkUser(id: string, body: unknown): User {
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

/** @internal A short rendering of a body for error messages. */
function preview(body: unknown): string {
  try {
    const s = JSON.stringify(body) ?? String(body)
    return s.length > 120 ? `${s.slice(0, 117)}...` : s
  } catch {
    return String(body)
  }
}
