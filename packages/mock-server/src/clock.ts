/**
 * The timer functions the mock uses for its delays. Injectable so tests can drive time; the
 * default reads `globalThis` at call time (never at import), so `vi.useFakeTimers()` applies.
 */
export interface MockClock {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
  /**
   * Milliseconds on any steady scale; only differences are used (the brownout queue's propagated
   * deadlines). Optional: without it the mock reads `Date.now()` at call time.
   */
  now?(): number
}

/** The default clock: the global timers, looked up on every call. */
export const systemClock: MockClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
}

/**
 * Waits `ms` milliseconds, or less if `signal` aborts (the client went away), so an abandoned
 * request does not hold a timer, and a closing server does not wait for slow answers.
 * Resolves `true` when the full delay elapsed, `false` when aborted. A delay of 0 returns at once.
 */
export function sleep(clock: MockClock, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false)
  if (ms <= 0) return Promise.resolve(true)
  return new Promise((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(handle)
      resolve(false)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve(true)
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
