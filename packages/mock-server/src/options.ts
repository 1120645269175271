import { type BrownoutOptions, type ResolvedBrownout, resolveBrownout } from './brownout.js'
import { type CacheHeadersOption, checkCacheHeaders } from './cache-headers.js'
import { checks } from './checks.js'
import type { MockClock } from './clock.js'
import { systemClock } from './clock.js'
import { type QuotaOptions, type ResolvedQuota, resolveQuota } from './core/overlays/quota.js'
import { resolveTail, type TailOptions } from './core/overlays/tail.js'
import { seedData } from './data.js'
import { InvalidMockOptionError } from './errors/InvalidMockOptionError.js'
import type { MockData, MockMode, RouteName } from './types.js'

/** Every mode, for validation. */
export const MOCK_MODES: readonly MockMode[] = ['healthy', 'down', 'flapping', 'slow', 'brownout']

/**
 * Latencies in milliseconds. A route's own entry wins; otherwise `getEventsByIds` uses
 * `getEventById`'s value (one batch costs one call), and the other routes use `default`.
 */
export interface MockDelays extends Partial<Record<RouteName, number>> {
  /** Latency of one `getEventById` (and, unless set, of one `getEventsByIds`). Default `500`. */
  getEventById?: number
  /** Latency before an `addEvent` answers `503` in its failing phase. Default `100`. */
  addEventFailure?: number
  /** Latency of every route without its own entry. Default `0`. */
  default?: number
  /** Extra latency added to every data route in `slow` mode. Default `1000`. */
  slowExtra?: number
}

/** Options of `createMockUpstream`. Every option has a default matching the original upstream. */
export interface MockUpstreamOptions {
  /** Origin (plus optional base path) the handlers answer for. Default `'http://event.com'`. */
  baseUrl?: string
  /** Initial mode. Default `'flapping'`, the original behaviour. */
  mode?: MockMode
  /**
   * Latencies. A number sets every latency except `slowExtra` to that value: `delays: 0` is the
   * usual setting for fast tests.
   */
  delays?: number | MockDelays
  /** The `addEvent` cycle in `flapping` mode: `succeed` requests pass, then `fail` answer 503. */
  failureCycle?: { succeed?: number; fail?: number }
  /** Share of `getUsers`/`getEvents` calls dropped as network errors in `flapping` mode. Default `0.05`. */
  networkErrorRate?: number
  /** Seed of the per-instance random generator behind network errors. Default `1`. */
  seed?: number
  /** The data set. Default: the seed data (users "1".."3", events "1".."4"). Copied, never shared. */
  data?: MockData
  /** When set, every `503` carries `Retry-After: <seconds>`. Default: no header, like the original. */
  retryAfterSeconds?: number
  /**
   * Settings of the `brownout` mode (used only in that mode; also changed at run time by
   * `setMode('brownout', settings)` and `POST /__admin/mode`). Default
   * `{ latencyFactor: 4, errorRate: 0.3, capacity: 10 }`.
   */
  brownout?: BrownoutOptions
  /**
   * The quota overlay, on top of any mode: a token bucket of `'100/s'` (or `/min`, `/h`, or
   * `{ limit, windowSeconds }`) over which data requests get `429` + `Retry-After`; every data
   * answer carries `RateLimit-Policy`, `RateLimit` and `X-RateLimit-*`. Switch it at run time
   * with `setQuota()` or `POST /__admin/quota`. Default: no quota.
   */
  quota?: string | QuotaOptions
  /** Timers for the delays. Default: the global timers, read at call time. */
  clock?: MockClock
  /**
   * How many of the latest requests to keep for `mock.requests()` (method, path, headers), `0`
   * for none. Default `100`.
   */
  recordRequests?: number
  /**
   * HTTP caching headers per data route (`Cache-Control`, `ETag`, `Last-Modified`, `Vary`), and
   * `304` answers to matching conditional requests. Default: none, like the original upstream.
   * Also changed at run time by `mock.setCacheHeaders()` and `POST /__admin/cache-headers`.
   */
  cacheHeaders?: CacheHeadersOption
  /**
   * The tail overlay, on top of any mode: a seeded share of data answers delayed by `delayMs`
   * (`{ rate: 0.02, delayMs: 300 }`: 2 % of answers 300 ms late). Switched at run time by
   * `mock.setTail()` and `POST /__admin/tail`. Default off.
   */
  tail?: TailOptions | false
}

/** Internal: options with every default applied and validated. */
export interface ResolvedOptions {
  baseUrl: string
  mode: MockMode
  delays: Record<RouteName | 'addEventFailure' | 'slowExtra' | 'default', number>
  succeed: number
  fail: number
  networkErrorRate: number
  seed: number
  data: MockData
  retryAfterSeconds: number | undefined
  brownout: ResolvedBrownout
  quota: ResolvedQuota | undefined
  clock: MockClock
  recordRequests: number
  cacheHeaders: CacheHeadersOption
  tail: TailOptions | false
}

/** Applies defaults and validates; throws `InvalidMockOptionError` quoting the bad value. */
export function resolveOptions(options: MockUpstreamOptions = {}): ResolvedOptions {
  // A misspelt option (`dealys`) would otherwise be ignored and the default used silently.
  if (typeof options !== 'object' || options === null) invalid('options', 'an object', options)
  checks.rejectUnknown('', options, OPTION_KEYS)
  const baseUrl = checkBaseUrl(options.baseUrl ?? 'http://event.com')
  const mode = checkMode('mode', options.mode ?? 'flapping')
  const raw = options.delays ?? {}
  const given: MockDelays =
    typeof raw === 'number'
      ? { getEventById: raw, addEventFailure: raw, default: raw }
      : typeof raw === 'object' && raw !== null
        ? raw
        : (invalid('delays', 'a number or an object', raw) as never)
  checks.rejectUnknown('delays.', given, DELAY_KEYS)
  for (const [key, value] of Object.entries(given)) {
    if (value !== undefined) checkDelay(`delays.${key}`, value)
  }
  const fallback = given.default ?? 0
  const eventById = given.getEventById ?? 500
  const delays = {
    getUsers: given.getUsers ?? fallback,
    getUserById: given.getUserById ?? fallback,
    getEvents: given.getEvents ?? fallback,
    getEventById: eventById,
    getEventsByIds: given.getEventsByIds ?? eventById,
    addEvent: given.addEvent ?? fallback,
    addEventFailure: given.addEventFailure ?? 100,
    slowExtra: given.slowExtra ?? 1000,
    default: fallback,
  }
  if (options.failureCycle !== undefined) {
    if (typeof options.failureCycle !== 'object' || options.failureCycle === null) {
      invalid('failureCycle', 'an object', options.failureCycle)
    }
    checks.rejectUnknown('failureCycle.', options.failureCycle, ['succeed', 'fail'])
  }
  const succeed = options.failureCycle?.succeed ?? 5
  const fail = options.failureCycle?.fail ?? 10
  checkCount('failureCycle.succeed', succeed)
  checkCount('failureCycle.fail', fail)
  if (succeed + fail === 0)
    invalid('failureCycle', 'a cycle of at least one request', options.failureCycle)
  const networkErrorRate = options.networkErrorRate ?? 0.05
  if (typeof networkErrorRate !== 'number' || !(networkErrorRate >= 0 && networkErrorRate <= 1)) {
    invalid('networkErrorRate', 'a number from 0 to 1', networkErrorRate)
  }
  const seed = options.seed ?? 1
  if (typeof seed !== 'number' || !Number.isInteger(seed)) invalid('seed', 'an integer', seed)
  const retryAfterSeconds = options.retryAfterSeconds
  if (retryAfterSeconds !== undefined) checkCount('retryAfterSeconds', retryAfterSeconds)
  const recordRequests = options.recordRequests ?? 100
  checkCount('recordRequests', recordRequests)
  const data = options.data ?? seedData()
  if (
    typeof data !== 'object' ||
    data === null ||
    !Array.isArray(data.users) ||
    !Array.isArray(data.events)
  ) {
    invalid('data', 'an object with `users` and `events` arrays', data)
  }
  return {
    baseUrl,
    mode,
    delays,
    succeed,
    fail,
    networkErrorRate,
    seed,
    data,
    retryAfterSeconds,
    brownout: resolveBrownout('brownout', options.brownout),
    quota: resolveQuota('quota', options.quota),
    clock: options.clock ?? systemClock,
    recordRequests,
    cacheHeaders: checkCacheHeaders('cacheHeaders', options.cacheHeaders),
    tail: resolveTail('tail', options.tail),
  }
}

/** Private: the keys of {@link MockUpstreamOptions}, for the unknown-key check. */
const OPTION_KEYS = [
  'baseUrl',
  'mode',
  'delays',
  'failureCycle',
  'networkErrorRate',
  'seed',
  'data',
  'retryAfterSeconds',
  'brownout',
  'quota',
  'clock',
  'recordRequests',
  'cacheHeaders',
  'tail',
] as const satisfies readonly (keyof MockUpstreamOptions)[]

/** Private: the keys of {@link MockDelays}. */
const DELAY_KEYS = [
  'getUsers',
  'getUserById',
  'getEvents',
  'getEventById',
  'getEventsByIds',
  'addEvent',
  'addEventFailure',
  'default',
  'slowExtra',
] as const satisfies readonly (keyof MockDelays)[]

/** Validates a mode name (used by the factory, `setMode` and the admin route). */
export function checkMode(option: string, mode: unknown): MockMode {
  if (!MOCK_MODES.includes(mode as MockMode))
    invalid(option, `one of ${MOCK_MODES.join(', ')}`, mode)
  return mode as MockMode
}

/** Private validation helpers. */
function invalid(option: string, expected: string, value: unknown): never {
  throw new InvalidMockOptionError(option, expected, value)
}
function checkDelay(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    invalid(option, 'a non-negative number of milliseconds', value)
  }
}
function checkCount(option: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    invalid(option, 'a non-negative integer', value)
  }
}
function checkBaseUrl(value: unknown): string {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.search || url.hash) {
    invalid('baseUrl', 'an http(s) URL without query or fragment', value)
  }
  // No trailing slash, so route paths can be appended with a single `/`.
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`
}
