import type { RequestHandler } from 'msw'
import {
  type BrownoutOptions,
  CapacityGate,
  type CapacityStats,
  resolveBrownout,
} from './brownout.js'
import type { CacheHeadersOption } from './cache-headers.js'
import { adminRoutes } from './core/admin-routes.js'
import { dataRoutes } from './core/data-routes.js'
import { cacheHeaderRoutes, setCacheHeaders } from './core/http-cache.js'
import {
  QuotaBucket,
  type QuotaOptions,
  type QuotaStats,
  quotaAdminRoutes,
  resolveQuota,
} from './core/overlays/quota.js'
import { type TailOptions, TailOverlay, tailRoutes } from './core/overlays/tail.js'
import { RouteCounters } from './counters.js'
import { createHandlers } from './handlers.js'
import { type ListenOptions, type MockServerHandle, serveRoutes } from './listen.js'
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
   * `flapping` restarts the `addEvent` cycle, so its first 5 requests succeed again. `brownout`
   * changes the brownout settings (validated, merged into the current ones); they stay for later
   * switches to `brownout`.
   *
   * @example
   * mock.setMode('brownout', { latencyFactor: 4, errorRate: 0.3, capacity: 8 })
   */
  setMode(mode: MockMode, brownout?: BrownoutOptions): void
  /**
   * Replaces the caching headers of the data routes (see the `cacheHeaders` option); `{}` turns
   * them off. Throws `InvalidMockOptionError` quoting a bad value, leaving them as they were.
   *
   * @example
   * mock.setCacheHeaders({ getEvents: { cacheControl: 'max-age=5', etag: true } })
   */
  setCacheHeaders(headers: CacheHeadersOption): void
  /** The tail overlay's setting, `false` when off. */
  readonly tail: TailOptions | false
  /**
   * Switches the tail overlay (also `POST /__admin/tail`): a seeded share of data answers delayed,
   * whatever the mode; `false` turns it off. Validated: a bad setting throws and changes nothing.
   *
   * @example
   * mock.setTail({ rate: 0.02, delayMs: 300 })
   */
  setTail(tail: TailOptions | false): void
  /** Data answers the tail overlay delayed since the mock was created. */
  tailDelayed(): number
  /** The current brownout settings (used in `brownout` mode). */
  readonly brownout: Readonly<Required<BrownoutOptions>>
  /**
   * The brownout capacity queue: requests serving and queued now, and since the last
   * `resetCalls()` the requests served, served for a client that had gone away (`abandoned`), and
   * answered `504` because their `x-request-timeout-ms` passed in the queue (`expired`).
   */
  capacityStats(): CapacityStats
  /** Calls seen per route since the last reset: all routes, or one. */
  calls(): Record<RouteName, number>
  calls(route: RouteName): number
  /**
   * Zeroes the call counts and the capacity queue's totals, and lowers the high-water marks to
   * what is in flight now.
   */
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
   * Sets the quota overlay (on top of any mode; also `POST /__admin/quota`): `'100/s'`,
   * `{ limit, windowSeconds }`, or `undefined` to lift it. A new quota starts with a full bucket
   * and zeroed counts. A bad value throws `InvalidMockOptionError` and leaves the quota as it was.
   *
   * @example
   * mock.setQuota('100/s')
   */
  setQuota(quota: string | QuotaOptions | undefined): void
  /** The quota's counts (requests admitted and answered 429), or `undefined` when there is none. */
  quotaStats(): QuotaStats | undefined
  /**
   * Serves the same routes on a real node:http server (default `127.0.0.1`, port 0), for clients
   * msw does not intercept, such as undici's `request`/`Pool`/`Agent`. The behaviour is the one
   * behind `handlers`; the server reads node requests directly, without msw's pipeline.
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
    brownout: resolved.brownout,
    gate: new CapacityGate(capacityIn(resolved.mode, resolved.brownout.capacity), () =>
      resolved.clock.now === undefined ? Date.now() : resolved.clock.now(),
    ),
    addEventSeq: 0,
    quota: resolved.quota && new QuotaBucket(resolved.quota, resolved.clock),
    tail: new TailOverlay(resolved.tail, resolved.seed, resolved.clock),
  }
  const setQuota = (quota: unknown) => {
    const checked = resolveQuota('quota', quota)
    state.quota = checked && new QuotaBucket(checked, resolved.clock)
  }
  const setMode = (mode: MockMode, brownout?: BrownoutOptions) => {
    const checked = checkMode('mode', mode)
    // Validated before anything changes, so a bad setting leaves the mock as it was.
    if (brownout !== undefined)
      state.brownout = resolveBrownout('brownout', brownout, state.brownout)
    state.mode = checked
    // Leaving the brownout releases whoever still waits in its queue.
    state.gate.setCapacity(capacityIn(checked, state.brownout.capacity))
    if (checked === 'flapping') state.addEventSeq = 0
  }
  // One definition of behaviour: the core routes, adapted for msw here and served by listen().
  const routes = [
    ...dataRoutes(state),
    ...adminRoutes(state, setMode),
    ...cacheHeaderRoutes(state),
    ...quotaAdminRoutes(() => state.quota, setQuota),
    ...tailRoutes(state.tail),
  ]
  const handlers = createHandlers(routes, resolved.baseUrl)
  const counters = state.counters
  const mock = {
    baseUrl: resolved.baseUrl,
    handlers,
    get mode() {
      return state.mode
    },
    setMode,
    setCacheHeaders: (headers: CacheHeadersOption) => setCacheHeaders(state, headers),
    get tail() {
      return state.tail.setting
    },
    setTail: (tail: TailOptions | false) => state.tail.set(tail),
    tailDelayed: () => state.tail.delayed,
    get brownout() {
      return { ...state.brownout }
    },
    capacityStats: () => state.gate.stats(),
    calls: (route?: RouteName) => counters.calls(route),
    resetCalls: () => {
      counters.reset()
      state.gate.reset()
    },
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
    setQuota,
    quotaStats: () => (state.quota === undefined ? undefined : { ...state.quota.stats }),
    listen: (listenOptions?: ListenOptions) => serveRoutes(routes, resolved.baseUrl, listenOptions),
  }
  return mock as MockUpstream
}

/** Private: the capacity queue is bounded only in `brownout` mode. */
function capacityIn(mode: MockMode, capacity: number): number {
  return mode === 'brownout' ? capacity : Number.POSITIVE_INFINITY
}
