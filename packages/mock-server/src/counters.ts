import type { RouteName } from './types.js'

/** Every counted route, in documentation order. */
export const ROUTE_NAMES: readonly RouteName[] = [
  'getUsers',
  'getUserById',
  'getEvents',
  'getEventById',
  'getEventsByIds',
  'addEvent',
]

/**
 * Per-route counters of one mock instance: calls seen, requests in flight, and the highest number
 * in flight at once since the last reset (the high-water mark a concurrency-cap test asserts on).
 */
export class RouteCounters {
  private readonly callCounts = zero()
  private readonly inFlightCounts = zero()
  private readonly highWaterCounts = zero()

  /** Marks a request as started; returns the function that marks it finished (idempotent). */
  enter(route: RouteName): () => void {
    this.callCounts[route]++
    const now = ++this.inFlightCounts[route]
    if (now > this.highWaterCounts[route]) this.highWaterCounts[route] = now
    let done = false
    return () => {
      if (done) return
      done = true
      this.inFlightCounts[route]--
    }
  }

  calls(route?: RouteName): number | Record<RouteName, number> {
    return route ? this.callCounts[route] : { ...this.callCounts }
  }

  inFlight(route?: RouteName): number | Record<RouteName, number> {
    return route ? this.inFlightCounts[route] : { ...this.inFlightCounts }
  }

  highWater(route?: RouteName): number | Record<RouteName, number> {
    return route ? this.highWaterCounts[route] : { ...this.highWaterCounts }
  }

  /**
   * Zeroes the call counts and lowers each high-water mark to what is in flight right now, so a
   * test that resets between phases only sees the concurrency of the next phase.
   */
  reset(): void {
    for (const route of ROUTE_NAMES) {
      this.callCounts[route] = 0
      this.highWaterCounts[route] = this.inFlightCounts[route]
    }
  }
}

/** Private: a record with every route at 0. */
function zero(): Record<RouteName, number> {
  return Object.fromEntries(ROUTE_NAMES.map((r) => [r, 0])) as Record<RouteName, number>
}
