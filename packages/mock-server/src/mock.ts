import type { RequestHandler } from 'msw'
import { RouteCounters } from './counters.js'
import { createHandlers } from './handlers.js'
import { type ListenOptions, type MockServerHandle, serveHandlers } from './listen.js'
import { checkMode, type MockUpstreamOptions, resolveOptions } from './options.js'
import { createRandom } from './prng.js'
import { type RecordedRequest, RequestRecorder } from './recorder.js'
import type { MockState } from './state.js'
import type { MockStore } from './store.js'
import { createStore } from './store.js'
import type { MockMode, RouteName } from './types.js'

/** One mock upstream instance. See {@link createMockUpstream}. */
export interface MockUpstream {
  /** The origin (plus base path) the handlers answer for, without a trailing slash. */
  readonly baseUrl: string
  /** msw handlers bound to `baseUrl`: pass them to `setupServer(...mock.handlers)`. */
  readonly handlers: RequestHandler[]
  /** The current mode. */
  readonly mode: MockMode
  /**
   * Switches the mode at run time (also reachable as `POST /__admin/mode`). Switching to
   * `flapping` restarts the `addEvent` cycle, so its first 5 requests succeed again.
   */
  setMode(mode: MockMode): void
  /** Calls seen per route since the last reset: all routes, or one. */
  calls(): Record<RouteName, number>
  calls(route: RouteName): number
  /** Zeroes the call counts and lowers the high-water marks to what is in flight now. */
  resetCalls(): void
  /** Requests pending right now (including their delays): all routes, or one. */
  inFlight(): Record<RouteName, number>
  inFlight(route: RouteName): number
  /** Most requests pending at once since the last reset: all routes, or one. */
  highWater(): Record<RouteName, number>
  highWater(route: RouteName): number
  /**
   * The latest requests the data routes received (at most `recordRequests`), oldest first, with
   * their headers: e.g. to check the `traceparent` a client sent.
   */
  requests(): RecordedRequest[]
  /** Forgets the recorded requests. */
  clearRequests(): void
  /** Read access to the data (copies). */
  readonly store: MockStore
  /**
   * Serves the same handlers on a real node:http server (default `127.0.0.1`, port 0), for
   * clients msw does not intercept, such as undici's `request`/`Pool`/`Agent`.
   */
  listen(options?: ListenOptions): Promise<MockServerHandle>
}

/**
 * Creates an independent mock of the external event API. Every knob is per instance; nothing is
 * global, so several instances can run in one process.
 *
 * @example
 * const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
 * const server = setupServer(...mock.handlers) // for fetch
 * const { url, close } = await mock.listen()   // for undici
 */
export function createMockUpstream(options: MockUpstreamOptions = {}): MockUpstream {
  const resolved = resolveOptions(options)
  const state: MockState = {
    options: resolved,
    counters: new RouteCounters(),
    recorder: new RequestRecorder(resolved.recordRequests),
    store: createStore(resolved.data),
    random: createRandom(resolved.seed),
    mode: resolved.mode,
    addEventSeq: 0,
  }
  const setMode = (mode: MockMode) => {
    state.mode = checkMode('mode', mode)
    if (mode === 'flapping') state.addEventSeq = 0
  }
  const handlers = createHandlers(state, setMode)
  const counters = state.counters
  const mock = {
    baseUrl: resolved.baseUrl,
    handlers,
    get mode() {
      return state.mode
    },
    setMode,
    calls: (route?: RouteName) => counters.calls(route),
    resetCalls: () => counters.reset(),
    inFlight: (route?: RouteName) => counters.inFlight(route),
    highWater: (route?: RouteName) => counters.highWater(route),
    requests: () => state.recorder.list(),
    clearRequests: () => state.recorder.clear(),
    store: {
      getUser: (id: string) => state.store.getUser(id),
      getEvent: (id: string) => state.store.getEvent(id),
      listEvents: () => state.store.listEvents(),
      listUsers: () => state.store.listUsers(),
    },
    listen: (listenOptions?: ListenOptions) =>
      serveHandlers(handlers, resolved.baseUrl, listenOptions),
  }
  return mock as MockUpstream
}
