import { applyListQuery, parseListQuery } from '../query.js'
import type { MockState } from '../state.js'
import type { Event } from '../types.js'
import { dataRoute, dropped, wait } from './data-route.js'
import {
  badRequest,
  type CoreAnswer,
  type CoreRequest,
  conflict,
  json,
  NETWORK_ERROR,
  notFound,
  unavailable,
} from './exchange.js'
import type { CoreRoute } from './route.js'

/** Upper bound of ids in one `/getEventsByIds` call. */
export const MAX_BATCH_IDS = 100

/** Internal: the six data routes of one instance, each wrapped in the shared steps. */
export function dataRoutes(state: MockState): CoreRoute[] {
  return [
    { method: 'GET', path: '/getUsers', serve: dataRoute(state, 'getUsers', getUsers) },
    {
      method: 'GET',
      path: '/getUserById/:id',
      serve: dataRoute(state, 'getUserById', getUserById),
    },
    { method: 'GET', path: '/getEvents', serve: dataRoute(state, 'getEvents', getEvents) },
    {
      method: 'GET',
      path: '/getEventById/:id',
      serve: dataRoute(state, 'getEventById', getEventById),
    },
    {
      method: 'GET',
      path: '/getEventsByIds',
      serve: dataRoute(state, 'getEventsByIds', getEventsByIds),
    },
    { method: 'POST', path: '/addEvent', serve: dataRoute(state, 'addEvent', addEvent) },
  ]
}

/** Private: `GET /getUsers`. */
async function getUsers(state: MockState, request: CoreRequest): Promise<CoreAnswer> {
  if (dropped(state)) return NETWORK_ERROR
  if (!(await wait(state, state.options.delays.getUsers, request))) return NETWORK_ERROR
  return json(state.store.listUsers())
}

/** Private: `GET /getUserById/:id`. */
async function getUserById(
  state: MockState,
  request: CoreRequest,
  { id = '' }: Readonly<Record<string, string>>,
): Promise<CoreAnswer> {
  if (!(await wait(state, state.options.delays.getUserById, request))) return NETWORK_ERROR
  const user = state.store.getUser(id)
  return user ? json(user) : notFound(`User ${JSON.stringify(id)} not found`)
}

/** Private: `GET /getEvents` with the list query. */
async function getEvents(state: MockState, request: CoreRequest): Promise<CoreAnswer> {
  const parsed = parseListQuery(new URLSearchParams(request.query))
  if (!parsed.ok) return badRequest(parsed.message)
  if (dropped(state)) return NETWORK_ERROR
  if (!(await wait(state, state.options.delays.getEvents, request))) return NETWORK_ERROR
  const { items, total } = applyListQuery(state.store.rawEvents(), parsed.query)
  return json(items, { 'X-Total-Count': String(total) })
}

/** Private: `GET /getEventById/:id`. */
async function getEventById(
  state: MockState,
  request: CoreRequest,
  { id = '' }: Readonly<Record<string, string>>,
): Promise<CoreAnswer> {
  if (!(await wait(state, state.options.delays.getEventById, request))) return NETWORK_ERROR
  const event = state.store.getEvent(id)
  return event ? json(event) : notFound(`Event ${JSON.stringify(id)} not found`)
}

/** Private: `GET /getEventsByIds?ids=…` with the list query; unknown ids in `X-Missing-Ids`. */
async function getEventsByIds(state: MockState, request: CoreRequest): Promise<CoreAnswer> {
  const params = new URLSearchParams(request.query)
  const raw = params.get('ids')
  const ids = (raw ?? '').split(',').map((s) => s.trim())
  if (raw === null || ids.some((id) => id === '')) {
    return badRequest(
      `Expected \`ids\` to be a comma-separated list of ids, got ${JSON.stringify(raw)}`,
    )
  }
  if (ids.length > MAX_BATCH_IDS) {
    return badRequest(`Expected at most ${MAX_BATCH_IDS} ids, got ${ids.length}`)
  }
  const parsed = parseListQuery(params)
  if (!parsed.ok) return badRequest(parsed.message)
  if (!(await wait(state, state.options.delays.getEventsByIds, request))) return NETWORK_ERROR
  const found: Event[] = []
  const missing: string[] = []
  for (const id of new Set(ids)) {
    const event = state.store.rawEvent(id)
    if (event) found.push(event)
    else missing.push(id)
  }
  const { items, total } = applyListQuery(found, parsed.query)
  const headers: Record<string, string> = { 'X-Total-Count': String(total) }
  if (missing.length > 0) headers['X-Missing-Ids'] = missing.join(',')
  return json(items, headers)
}

/** Private: `POST /addEvent`, with the `flapping` mode's 5-then-10 failure cycle. */
async function addEvent(state: MockState, request: CoreRequest): Promise<CoreAnswer> {
  const { delays } = state.options
  if (state.mode === 'flapping') {
    // The position advances on every request, before the body is read: the original upstream
    // shed load without looking at the payload, so even a malformed request consumes a slot of
    // the 5-then-10 cycle.
    const position = state.addEventSeq++ % (state.options.succeed + state.options.fail)
    if (position >= state.options.succeed) {
      await wait(state, delays.addEventFailure, request)
      return unavailable('Event API is experiencing high load', state.options.retryAfterSeconds)
    }
  }
  if (!(await wait(state, delays.addEvent, request))) return NETWORK_ERROR
  const checked = checkNewEvent(await request.json())
  if (typeof checked === 'string') return badRequest(checked)
  if (!state.store.rawUser(checked.userId)) {
    return notFound(`User ${JSON.stringify(checked.userId)} not found`)
  }
  const id = checked.id ?? state.store.nextEventId()
  if (state.store.rawEvent(id)) return conflict(`Event ${JSON.stringify(id)} already exists`)
  const event: Event = { id, name: checked.name, userId: checked.userId }
  if (checked.details !== undefined) event.details = checked.details
  state.store.insert(event)
  return json({ success: true, id })
}

/** Private: an `addEvent` body that passed {@link checkNewEvent}. */
interface NewEvent {
  id?: string
  name: string
  userId: string
  details?: string
}

/** Private: validates an `addEvent` body; returns the message of a `400` when it is malformed. */
function checkNewEvent(body: unknown): NewEvent | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return 'Expected a JSON object body `{ id?, name, userId, details? }`'
  }
  const { id, name, userId, details } = body as Record<string, unknown>
  if (id !== undefined && !isNonEmptyString(id)) {
    return `Expected \`id\` to be a non-empty string, got ${JSON.stringify(id)}`
  }
  if (!isNonEmptyString(name))
    return `Expected \`name\` to be a non-empty string, got ${JSON.stringify(name)}`
  if (!isNonEmptyString(userId)) {
    return `Expected \`userId\` to be a non-empty string, got ${JSON.stringify(userId)}`
  }
  if (details !== undefined && typeof details !== 'string') {
    return `Expected \`details\` to be a string, got ${JSON.stringify(details)}`
  }
  return { id, name, userId, details } as NewEvent
}

/** Private: a string with at least one character. */
function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}
