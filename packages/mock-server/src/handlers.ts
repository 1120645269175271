import { HttpResponse, http, type RequestHandler } from 'msw'
import { type BrownoutOptions, requestTimeoutOf } from './brownout.js'
import { sleep } from './clock.js'
import { checkMode } from './options.js'
import { applyListQuery, parseListQuery } from './query.js'
import { badRequest, conflict, gatewayTimeout, notFound, unavailable } from './responses.js'
import type { MockState } from './state.js'
import type { Event, MockMode, RouteName } from './types.js'

/** Upper bound of ids in one `/getEventsByIds` call. */
export const MAX_BATCH_IDS = 100

/** The resolver shape every data route implements; the wrapper adds counting, modes and delays. */
type RouteResolver = (request: Request, params: Record<string, string>) => Promise<Response>

/**
 * Builds the msw handlers of one instance: the six data routes and the admin routes, all bound
 * to `state.options.baseUrl`. The same array serves `setupServer()` and the node:http server.
 */
export function createHandlers(
  state: MockState,
  setMode: (mode: MockMode, brownout?: BrownoutOptions) => void,
): RequestHandler[] {
  const base = state.options.baseUrl
  const { delays, clock } = state.options
  const extra = () => (state.mode === 'slow' ? delays.slowExtra : 0)

  /**
   * Wraps a route: counts the call and its concurrency for the whole time it is pending
   * (including delays), and answers `503` in `down` mode before running the route.
   */
  const route =
    (name: RouteName, resolve: RouteResolver) =>
    async ({ request, params }: { request: Request; params: Record<string, unknown> }) => {
      const leave = state.counters.enter(name)
      state.recorder.record(name, request)
      try {
        if (state.mode === 'down') {
          await sleep(clock, delays.default, request.signal)
          return unavailable('Event API is down', state.options.retryAfterSeconds)
        }
        if (state.mode === 'brownout') {
          const answer = await brownout(name, request)
          if (answer !== undefined) return answer
        }
        return await resolve(request, params as Record<string, string>)
      } finally {
        leave()
      }
    }

  /**
   * The brownout mode's part of a request: a slot of the capacity queue, the route's latency
   * times the factor, then the error rate. Resolves the answer when it ends the request there
   * (`504` for a propagated deadline that passed in the queue, or a `503`), `undefined` when the
   * route should answer normally.
   */
  const brownout = async (name: RouteName, request: Request): Promise<Response | undefined> => {
    const timeoutMs = requestTimeoutOf(request)
    if (!(await state.gate.acquire(timeoutMs))) {
      return gatewayTimeout(
        `The request waited longer than its x-request-timeout-ms of ${timeoutMs} ms; not served`,
      )
    }
    try {
      // No abort signal: the modelled upstream does not notice a caller leaving, so the slot is
      // held for the whole service time, as an overloaded backend's worker would be.
      await sleep(clock, delays[name] * state.brownout.latencyFactor)
    } finally {
      state.gate.release(request.signal.aborted)
    }
    if (state.random() < state.brownout.errorRate) {
      return unavailable('Event API is browned out', state.options.retryAfterSeconds)
    }
    return undefined
  }

  /**
   * Waits the route's latency; `false` when the client went away meanwhile. In `brownout` mode
   * the latency was already spent in the capacity queue's slot.
   */
  const wait = (ms: number, request: Request) =>
    state.mode === 'brownout'
      ? Promise.resolve(!request.signal.aborted)
      : sleep(clock, ms + extra(), request.signal)

  /** In `flapping` mode, draws from the seeded generator whether to drop this call. */
  const dropped = () => state.mode === 'flapping' && state.random() < state.options.networkErrorRate

  return [
    http.get(
      `${base}/getUsers`,
      route('getUsers', async (request) => {
        if (dropped()) return HttpResponse.error()
        if (!(await wait(delays.getUsers, request))) return HttpResponse.error()
        return HttpResponse.json(state.store.listUsers())
      }),
    ),
    http.get(
      `${base}/getUserById/:id`,
      route('getUserById', async (request, { id = '' }) => {
        if (!(await wait(delays.getUserById, request))) return HttpResponse.error()
        const user = state.store.getUser(id)
        return user ? HttpResponse.json(user) : notFound(`User ${JSON.stringify(id)} not found`)
      }),
    ),
    http.get(
      `${base}/getEvents`,
      route('getEvents', async (request) => {
        const parsed = parseListQuery(new URL(request.url).searchParams)
        if (!parsed.ok) return badRequest(parsed.message)
        if (dropped()) return HttpResponse.error()
        if (!(await wait(delays.getEvents, request))) return HttpResponse.error()
        const { items, total } = applyListQuery(state.store.rawEvents(), parsed.query)
        return HttpResponse.json(items, { headers: { 'X-Total-Count': String(total) } })
      }),
    ),
    http.get(
      `${base}/getEventById/:id`,
      route('getEventById', async (request, { id = '' }) => {
        if (!(await wait(delays.getEventById, request))) return HttpResponse.error()
        const event = state.store.getEvent(id)
        return event ? HttpResponse.json(event) : notFound(`Event ${JSON.stringify(id)} not found`)
      }),
    ),
    http.get(
      `${base}/getEventsByIds`,
      route('getEventsByIds', async (request) => {
        const params = new URL(request.url).searchParams
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
        if (!(await wait(delays.getEventsByIds, request))) return HttpResponse.error()
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
        return HttpResponse.json(items, { headers })
      }),
    ),
    http.post(
      `${base}/addEvent`,
      route('addEvent', async (request) => {
        if (state.mode === 'flapping') {
          // The position advances on every request, before the body is read: the original
          // upstream shed load without looking at the payload, so even a malformed request
          // consumes a slot of the 5-then-10 cycle.
          const position = state.addEventSeq++ % (state.options.succeed + state.options.fail)
          if (position >= state.options.succeed) {
            await wait(delays.addEventFailure, request)
            return unavailable(
              'Event API is experiencing high load',
              state.options.retryAfterSeconds,
            )
          }
        }
        if (!(await wait(delays.addEvent, request))) return HttpResponse.error()
        const body = await readJson(request)
        const checked = checkNewEvent(body)
        if (typeof checked === 'string') return badRequest(checked)
        if (!state.store.rawUser(checked.userId)) {
          return notFound(`User ${JSON.stringify(checked.userId)} not found`)
        }
        const id = checked.id ?? state.store.nextEventId()
        if (state.store.rawEvent(id)) return conflict(`Event ${JSON.stringify(id)} already exists`)
        const event: Event = { id, name: checked.name, userId: checked.userId }
        if (checked.details !== undefined) event.details = checked.details
        state.store.insert(event)
        return HttpResponse.json({ success: true, id })
      }),
    ),
    http.get(`${base}/__admin/mode`, () => HttpResponse.json({ mode: state.mode })),
    http.post(`${base}/__admin/mode`, async ({ request }) => {
      const body = await readJson(request)
      const given = body as { mode?: unknown; brownout?: BrownoutOptions } | undefined
      try {
        const previous = state.mode
        setMode(checkMode('mode', given?.mode), given?.brownout)
        return HttpResponse.json({
          mode: state.mode,
          previous,
          ...(state.mode === 'brownout' ? { brownout: jsonBrownout(state) } : {}),
        })
      } catch (error) {
        return badRequest((error as Error).message)
      }
    }),
    http.get(`${base}/__admin/calls`, () =>
      HttpResponse.json({
        calls: state.counters.calls(),
        inFlight: state.counters.inFlight(),
        highWater: state.counters.highWater(),
        capacity: jsonStats(state),
      }),
    ),
    http.post(`${base}/__admin/calls/reset`, () => {
      state.counters.reset()
      state.gate.reset()
      return HttpResponse.json({ calls: state.counters.calls() })
    }),
  ]
}

/** Private: JSON has no Infinity; an unbounded capacity is written as `null`. */
function jsonBrownout(state: MockState) {
  const b = state.brownout
  return { ...b, capacity: Number.isFinite(b.capacity) ? b.capacity : null }
}

/** Private: the capacity queue's counters for the admin route (`null` for an unbounded one). */
function jsonStats(state: MockState) {
  const stats = state.gate.stats()
  return { ...stats, capacity: Number.isFinite(stats.capacity) ? stats.capacity : null }
}

/** Private: the request body as JSON, or `undefined` when it is not valid JSON. */
async function readJson(request: Request): Promise<unknown> {
  try {
    return await request.json()
  } catch {
    return undefined
  }
}

/** Private: validates an `addEvent` body; returns the message of a `400` when it is malformed. */
function checkNewEvent(
  body: unknown,
): { id?: string; name: string; userId: string; details?: string } | string {
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
  return { id, name, userId, details } as {
    id?: string
    name: string
    userId: string
    details?: string
  }
}

function isNonEmptyString(value: unknown): value is string {
  return typeof value === 'string' && value !== ''
}
