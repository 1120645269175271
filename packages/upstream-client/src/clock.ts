/**
 * The time source every policy reads: deadlines, retry waits, per-attempt timeouts, the breaker's
 * failure window and cache freshness. Inject one to drive time from tests.
 *
 * @example
 * const clock: Clock = { now: () => virtualNow, setTimeout: schedule, clearTimeout: cancel }
 * createUpstreamClient({ baseUrl, clock })
 */
export interface Clock {
  /**
   * Milliseconds since the Unix epoch, as `Date.now()` (the default) returns. It must be wall-clock
   * time, not a monotonic counter such as `performance.now()`: a `Retry-After` given as an HTTP
   * date is turned into a wait by subtracting `now()` from that date.
   */
  now(): number
  /** Schedules `callback` after `ms` milliseconds and returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(callback: () => void, ms: number): unknown
  /** Cancels a timer returned by {@link Clock.setTimeout}; unknown handles are ignored. */
  clearTimeout(handle: unknown): void
}

/**
 * The default clock. It looks the globals up on every call instead of capturing them when this
 * module is imported, so fake timers installed later (vitest, sinon) still drive it.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
}
