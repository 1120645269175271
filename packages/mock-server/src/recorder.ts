import type { CoreRequest } from './core/exchange.js'
import type { RouteName } from './types.js'

/** One request a mock instance received, as {@link MockUpstream.requests} returns it. */
export interface RecordedRequest {
  /** The route that answered it. */
  route: RouteName
  method: string
  /** Path and query, e.g. `/getEventById/7`. */
  path: string
  /** Request headers, names lower-cased; repeated headers are joined with `, ` (Fetch rules). */
  headers: Record<string, string>
}

/**
 * Internal: the last `limit` requests of one instance, oldest first, so a test can assert what a
 * client sent (a `traceparent`, an `Idempotency-Key`) without a server of its own. A ring: memory
 * stays bounded however long a benchmark runs.
 */
export class RequestRecorder {
  readonly #limit: number
  #entries: RecordedRequest[] = []
  #next = 0

  constructor(limit: number) {
    this.#limit = limit
  }

  record(route: RouteName, request: CoreRequest): void {
    if (this.#limit === 0) return
    const entry: RecordedRequest = {
      route,
      method: request.method,
      path: request.target,
      headers: request.headers(),
    }
    if (this.#entries.length < this.#limit) this.#entries.push(entry)
    else this.#entries[this.#next] = entry
    this.#next = (this.#next + 1) % this.#limit
  }

  list(): RecordedRequest[] {
    if (this.#entries.length < this.#limit) return [...this.#entries]
    return [...this.#entries.slice(this.#next), ...this.#entries.slice(0, this.#next)]
  }

  clear(): void {
    this.#entries = []
    this.#next = 0
  }
}
