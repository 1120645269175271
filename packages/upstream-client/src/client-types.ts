import type { Query } from './call-input.js'
import type {
  AttemptErrorEvent,
  BudgetExhaustedEvent,
  CacheHitEvent,
  CacheMissEvent,
  CacheNotStoredEvent,
  CallEndEvent,
  CallState,
  CircuitState,
  CoalescedEvent,
  HedgeEvent,
  LimitChangeEvent,
  RampChangeEvent,
  RequestEvent,
  ResponseEvent,
  RetryEvent,
  StateChangeEvent,
} from './hooks.js'

// The client's public types, apart from its factory (`client.ts`), so the modules that build the
// facade can name them without importing the factory back.

/** Options of one call. */
export interface CallOptions {
  /** Aborts the call; it then rejects with `UpstreamAbortError`. */
  signal?: AbortSignal
  /** Forwarded as `x-request-id` and added to hooks and log lines. */
  requestId?: string
  /** Extra headers for this call (they also become part of the cache key). */
  headers?: Record<string, string>
  /** `false` bypasses the cache and coalescing for this call. Default true (when a cache is configured). */
  cache?: boolean
  /**
   * Called with the caching headers of the call's answer and what they allow, just before the
   * call resolves, so a caller that keeps the value itself (an aggregator's cache, with
   * `cache: false`) can honour them: `cacheable` is false for `no-store`, `private` and
   * `Vary: *`. `headers` are the response headers (lower-case names); `{}` and `cacheable: true`
   * when the answer came from the client's cache or the shared tier without headers.
   *
   * @example
   * let keep = true
   * const user = await client.get('/getUserById/1', { cache: false, onHeaders: (info) => { keep = info.cacheable } })
   */
  onHeaders?: (info: ResponseCacheInfo) => void
  /** `false` never hedges this call (see the client's `hedge` option). Default true. */
  hedge?: boolean
  /** Overrides the client's per-attempt timeout for this call. */
  timeoutMs?: number
  /** Overrides the client's overall deadline for this call. */
  deadlineMs?: number
  /**
   * The call's operation key: its breaker, its `maxInFlight` slots, and the `operation` of its
   * hooks, log lines and errors. Default: `${METHOD} ${template}` for a path built with the
   * `path` tag (`GET /getUserById/{}`), else the method and the first path segment
   * (`GET /getUserById`). Use a route name (`getUserById`), never an id: keys are bounded by
   * `maxOperations`. 1–128 printable ASCII characters.
   */
  operation?: string
  /**
   * Query parameters appended to the path, percent-encoded: an array repeats the parameter,
   * `undefined` leaves it out. Part of the cache key.
   *
   * @example
   * client.get('/getEvents', { query: { ids: [1, 2], from: undefined } }) // GET /getEvents?ids=1&ids=2
   */
  query?: Query
}

/** Passed to the `onHeaders` call option: the answer's headers and whether it may be stored. */
export interface ResponseCacheInfo {
  /** Response headers, lower-case names (`{}` when the call was answered without a response). */
  headers: Readonly<Record<string, string | string[] | undefined>>
  /** False when the headers forbid storing the answer (`no-store`, `private`, `Vary: *`). */
  cacheable: boolean
}

/** Options of a write (POST, PUT, PATCH, DELETE). */
export interface WriteOptions extends CallOptions {
  /**
   * Sent as `Idempotency-Key`. It tells the client the upstream de-duplicates this write, so a
   * POST or PATCH may be retried after timeouts and 5xx like a GET.
   */
  idempotencyKey?: string
}

/** A typed, resilient JSON client for one upstream. Create it with {@link createUpstreamClient}. */
export interface UpstreamClient {
  /** GET `path` (relative to `baseUrl`) and parse the JSON body. Cached and coalesced when a cache is configured. */
  get<T = unknown>(path: string, options?: CallOptions): Promise<T>
  /** POST `body` as JSON. Retried only when certainly not processed, or with `idempotencyKey`. */
  post<T = unknown>(path: string, body: unknown, options?: WriteOptions): Promise<T>
  /** PUT `body` as JSON (idempotent: retried like a GET). */
  put<T = unknown>(path: string, body: unknown, options?: WriteOptions): Promise<T>
  /** PATCH `body` as JSON. Retried only when certainly not processed, or with `idempotencyKey`. */
  patch<T = unknown>(path: string, body: unknown, options?: WriteOptions): Promise<T>
  /** DELETE `path` (idempotent: retried like a GET). */
  delete<T = unknown>(path: string, options?: WriteOptions): Promise<T>
  /**
   * The worst state of the client's breakers (`open`, else `halfOpen`, else `closed`; `closed`
   * when the breaker is disabled); a shared breaker's state when shared.
   */
  readonly circuitState: CircuitState
  /**
   * The state of each operation's breaker, keyed by operation (`(other)` for the overflow
   * breaker); a shared breaker is reported under `*`; `{}` when the breaker is disabled. A new
   * object on each call.
   */
  circuitStates(): Record<string, CircuitState>
  /** The upstream name (breaker group, logger binding). */
  readonly name: string
  /**
   * The client's deadline of a call, in ms (`deadlineMs`), for callers that cap it by a deadline
   * of their own: pass `Math.min(theirs, client.deadlineMs)` as the call's `deadlineMs`.
   */
  readonly deadlineMs: number
  /**
   * The adaptive concurrency limit of `operation` (e.g. `GET /getEventById`): attempts allowed in
   * flight right now, the initial limit before its first call; `undefined` when `adaptiveLimit`
   * is off. An aggregator can size its window by it.
   */
  limit(operation: string): number | undefined
  /** Called when an operation's adaptive limit changed. Returns an unsubscribe function. */
  onLimitChange(listener: (event: LimitChangeEvent) => void): () => void
  /** Called before each attempt is dispatched. Returns an unsubscribe function. */
  onRequest(listener: (event: RequestEvent) => void): () => void
  /** Called when an attempt received a complete response, any status. Returns an unsubscribe function. */
  onResponse(listener: (event: ResponseEvent) => void): () => void
  /** Called when an attempt failed (any reason). Returns an unsubscribe function. */
  onAttemptError(listener: (event: AttemptErrorEvent) => void): () => void
  /** Called when a retry has been scheduled. Returns an unsubscribe function. */
  onRetry(listener: (event: RetryEvent) => void): () => void
  /**
   * Called when a hedge was sent, won or refused (see the `hedge` option). Returns an
   * unsubscribe function.
   */
  onHedge(listener: (event: HedgeEvent) => void): () => void
  /**
   * Called when the retry budget refused a retry (the caller got the real error at once).
   * Returns an unsubscribe function.
   */
  onBudgetExhausted(listener: (event: BudgetExhaustedEvent) => void): () => void
  /** Called when the circuit changes state. Returns an unsubscribe function. */
  onStateChange(listener: (event: StateChangeEvent) => void): () => void
  /**
   * Called at each step of the gradual recovery after a successful half-open probe: the ramp
   * started, widened, finished or was aborted. Returns an unsubscribe function.
   */
  onRampChange(listener: (event: RampChangeEvent) => void): () => void
  /** Called on a cache hit (`stale: true` for stale-if-error). Returns an unsubscribe function. */
  onCacheHit(listener: (event: CacheHitEvent) => void): () => void
  /** Called on a cache miss. Returns an unsubscribe function. */
  onCacheMiss(listener: (event: CacheMissEvent) => void): () => void
  /**
   * Called when a GET's answer was not stored because its headers forbid it (`no-store`,
   * `private`, `Vary: *`), with the reason. Returns an unsubscribe function.
   */
  onCacheNotStored(listener: (event: CacheNotStoredEvent) => void): () => void
  /** Called when a GET joined an identical one in flight. Returns an unsubscribe function. */
  onCoalesced(listener: (event: CoalescedEvent) => void): () => void
  /**
   * Called when a call starts, synchronously in the caller's async context (before the cache is
   * read), with the call's state object. Returns an unsubscribe function.
   */
  onCallStart(listener: (call: CallState) => void): () => void
  /** Called when a call settled, with its outcome. Returns an unsubscribe function. */
  onCallEnd(listener: (event: CallEndEvent) => void): () => void
  /**
   * Drops the cache, stops the timers of the client's own breakers (a shared one is only
   * unsubscribed from: its creator shuts it down) and closes the client's own pool gracefully.
   * Attempts already dispatched finish and their callers get the answer; a call waiting in a
   * post-recovery ramp queue is rejected with `CircuitOpenError`; a call waiting to retry then
   * fails its next attempt with `UpstreamNetworkError`. Calls made after close reject at once
   * with `UpstreamClientClosedError` (`UPSTREAM_CLIENT_CLOSED`). An injected dispatcher
   * is left open. Calling it again returns the same promise.
   */
  close(): Promise<void>
}
