import { Pool } from 'undici'
import { onAbort } from './abort.js'
import type { Call } from './call.js'
import { appendQuery, operationOf, type Query, serializeBody, validatePath } from './call-input.js'
import { UpstreamAbortError } from './errors/abort-error.js'
import { UpstreamClientClosedError } from './errors/client-closed-error.js'
import { isUpstreamError, type UpstreamError } from './errors/upstream-error.js'
import type {
  AttemptErrorEvent,
  BudgetExhaustedEvent,
  CacheHitEvent,
  CacheMissEvent,
  CallEndEvent,
  CallOutcome,
  CallState,
  CircuitState,
  CoalescedEvent,
  LimitChangeEvent,
  RampChangeEvent,
  RequestEvent,
  ResponseEvent,
  RetryEvent,
  StateChangeEvent,
} from './hooks.js'
import { ClientHooks } from './hooks.js'
import { attachLogger } from './logging.js'
import {
  type ResolvedOptions,
  resolveOptions,
  type UpstreamClientOptions,
  validateCallOptions,
} from './options.js'
import { AdaptiveLimiter } from './policies/adaptive-limit.js'
import { BulkheadPolicy } from './policies/bulkhead.js'
import { ResponseCache } from './policies/cache.js'
import { CircuitBreakerPolicy, defaultIsFailure } from './policies/circuit-breaker.js'
import { Coalescer } from './policies/coalesce.js'
import { deliverByDeadline, raceDeadline, startDeadline } from './policies/deadline.js'
import { FleetBreakerPolicy, sharedFleets } from './policies/fleet-breaker.js'
import { type BreakerSet, OperationBreakers, SharedBreaker } from './policies/operation-breakers.js'
import { type AttemptFn, RetryPolicy } from './policies/retry.js'
import { RetryBudget } from './policies/retry-budget.js'
import { sharedTierStep } from './policies/shared-tier.js'
import { attachTelemetry } from './telemetry/attach.js'
import { runAttempt, type TransportConfig } from './transport/attempt.js'

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

/** Methods whose repetition cannot duplicate a write, so every transient failure may be retried. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'])

/**
 * Creates a client for one upstream. Options are validated here; an invalid one throws
 * `InvalidOptionError` naming it and quoting the value.
 *
 * @example
 * const events = createUpstreamClient({ baseUrl: 'http://event.com', logger, timeoutMs: 2000 })
 * const user = await events.get<User>('/getUserById/1', { signal, requestId })
 * await events.post<{ success: boolean }>('/addEvent', event, { idempotencyKey: event.id })
 */
export function createUpstreamClient(options: UpstreamClientOptions): UpstreamClient {
  const config = resolveOptions(options)
  const { clock, name } = config
  const hooks = new ClientHooks()
  const ownPool =
    config.dispatcher === undefined
      ? new Pool(config.origin, { connections: config.connections })
      : undefined
  const transport: TransportConfig = {
    dispatcher: config.dispatcher ?? (ownPool as Pool),
    origin: config.origin,
    maxBodyBytes: config.maxBodyBytes,
    clock,
    hooks,
    deadlineHeader: config.deadlineHeader,
  }
  const budget =
    config.retry === false || config.retry.budget === false
      ? undefined
      : new RetryBudget(config.retry.budget, clock, config.maxOperations)
  const retry =
    config.retry === false ? undefined : new RetryPolicy(config.retry, clock, hooks, budget)
  const breakers = createBreakers(config)
  // The breakers' events are forwarded to this client's hooks (and so to its logger); the
  // `active` checks keep an event nobody listens to from costing anything.
  const unsubscribeBreakers =
    breakers === undefined
      ? []
      : [
          breakers.stateChanges.subscribe((event) => {
            if (hooks.stateChange.active) hooks.stateChange.emit(event)
          }),
          breakers.rampChanges.subscribe((event) => {
            if (hooks.rampChange.active) hooks.rampChange.emit(event)
          }),
        ]
  const isFailure = breakers === undefined ? defaultIsFailure : breakers.isFailure
  // Fleet mode: the fleet layer in front of the operation's breaker (step 7). A shared breaker's
  // fleet layer belongs to its creator, like the breaker.
  const fleet = createFleet(config, isFailure)
  if (fleet !== undefined) {
    unsubscribeBreakers.push(
      fleet.stateChanges.subscribe((event) => {
        if (hooks.stateChange.active) hooks.stateChange.emit(event)
      }),
    )
  }
  const bulkhead =
    config.maxInFlight === Number.POSITIVE_INFINITY
      ? undefined
      : new BulkheadPolicy(name, config, clock)
  const cache = config.cache === false ? undefined : new ResponseCache(config.cache, clock)
  const coalescer = cache === undefined ? undefined : new Coalescer()
  const throughStore =
    config.cache === false ? undefined : sharedTierStep(config.store, name, config.cache.ttlMs)
  if (config.logger !== undefined) {
    attachLogger(
      config.logger.child({ upstream: name }),
      hooks,
      (operation) => breakers?.for(operation).state ?? 'closed',
    )
  }
  const detachTelemetry = attachTelemetry(
    config.telemetry,
    hooks,
    config,
    () => Object.entries(breakers?.states() ?? {}),
    () => bulkhead?.waiting() ?? [],
  )

  let closed = false
  let closing: Promise<void> | undefined
  const readHeaders = { accept: 'application/json', ...config.headers }
  const writeHeaders = { ...readHeaders, 'content-type': 'application/json' }

  // Steps 9–12 of `execute` below, with the operation's breaker (step 8) in front.
  // A call counts toward its operation's retry budget when its first attempt is really sent.
  const attempt: AttemptFn =
    budget === undefined
      ? (call, n) => runAttempt(transport, call, n)
      : (call, n) => {
          if (n === 1) budget.recordCall(call.operation)
          return runAttempt(transport, call, n)
        }
  const localAttempt: AttemptFn =
    breakers === undefined
      ? attempt
      : (call, n) => breakers.for(call.operation).execute(call, n, attempt)
  const guardedAttempt: AttemptFn =
    fleet === undefined
      ? localAttempt
      : (call, n) => fleet.execute(call, n, call.operation, localAttempt)
  // Step 7, outside the breaker so that its refusals are never breaker failures.
  const limiter =
    config.adaptiveLimit === false
      ? undefined
      : new AdaptiveLimiter(name, config.adaptiveLimit, clock, hooks, config.maxOperations)
  const limitedAttempt: AttemptFn =
    limiter === undefined
      ? guardedAttempt
      : (call, n) => limiter.execute(call.operation, call, n, guardedAttempt)
  // Steps 5–12: the operation's in-flight slot around retries and attempts.
  const retried = (call: Call): Promise<unknown> =>
    retry === undefined ? limitedAttempt(call, 1) : retry.execute(call, limitedAttempt)
  const limited =
    bulkhead === undefined ? retried : (call: Call) => bulkhead.execute(call, () => retried(call))

  /**
   * Runs one call through the policies. The order, outermost first:
   *
   *  1. fresh-cache hit — GETs only, unless the call passes `cache: false`;
   *  2. in-flight coalescing — identical concurrent GETs share steps 3–12;
   *     then the shared tier (`store`), if any: a hit there, or one fetch of steps 4–12 for the
   *     whole fleet; a degraded store runs steps 4–12 here, as without a store;
   *  3. stale-if-error — a failure (or open circuit) is answered from an expired entry;
   *  4. overall deadline — fixes when the whole call must have settled; with a shared tier it
   *     starts before the store, so a wait for another replica's fetch spends it too;
   *  5. bulkhead — at most `maxInFlight` calls per operation; others wait or fail fast;
   *  6. retry — first attempt direct, p-retry only after a retryable failure; waits honour
   *     `Retry-After` and must end before the deadline; an open circuit is not retried; each
   *     retry is taken from its operation's budget, and a refusal gives the real error at once;
   *  7. adaptive concurrency limit of the call's operation — learned from round-trip times; an
   *     attempt over it waits (bounded, within the deadline) or fails fast, never a breaker failure;
   *  8. circuit breaker of the call's operation — fails fast while open, one half-open
   *     probe, then a ramp; with `breaker.store`, the operation's fleet circuit first (open
   *     anywhere in the fleet → fail fast here; one probe for the whole fleet);
   *  9. per-attempt timeout — min(timeoutMs, time left before the deadline), also sent upstream
   *     as `x-request-timeout-ms` (deadline propagation);
   * 10. undici dispatcher — keep-alive pool, or the injected dispatcher;
   * 11. body limit and JSON parse — enforced while the body streams in;
   * 12. error classification — everything becomes an `UpstreamError`.
   *
   * Caller errors (path, headers, body, options) were rejected before this, in `createCall`.
   * Steps 9–12 live in `transport/attempt.ts`; each other step is one module in `policies/`.
   *
   * Stacked limits on calls in flight, outermost first: an aggregator's window (its own option,
   * sized by `limit()`), the bulkhead (step 5, `maxInFlight` calls per operation, retries
   * included), the adaptive limit (step 7, attempts per operation, at most `maxInFlight`), the
   * breaker's recovery ramp (step 8, after an outage), the connection pool (step 10).
   */
  function execute(call: Call, useCache: boolean): Promise<unknown> {
    // Steps 5–12; the deadline (step 4) is started by the caller of this.
    const resilient = (): Promise<unknown> => limited(call)
    if (!cache || !coalescer || !throughStore || !useCache || call.method !== 'GET') {
      startDeadline(call, clock, call.deadlineMs)
      return deliverByDeadline(resilient(), call, clock)
    }
    // Without a cache an aborted call rejects before any request; here it would otherwise start
    // (and count a miss for) a shared upstream call that nobody waits for.
    if (call.signal?.aborted) return Promise.reject(abortErrorOf(call, call.signal))
    const key = cacheKey(call)
    const fresh = cache.fresh(key)
    if (fresh !== undefined) {
      call.outcome = 'cache'
      if (hooks.cacheHit.active) hooks.cacheHit.emit({ key, stale: false, call })
      return Promise.resolve(fresh.value)
    }
    if (hooks.cacheMiss.active) hooks.cacheMiss.emit({ key, call })
    const follower = coalescer.has(key)
    if (follower) {
      call.outcome = 'coalesced'
      if (hooks.coalesced.active) hooks.coalesced.emit({ key, call })
    }
    // The shared upstream call must not be cancelled by whichever caller happened to start it,
    // so it runs without a signal; each caller's own signal only releases that caller.
    const signal = call.signal
    call.signal = undefined
    const shared = coalescer.run(key, () => {
      // Started before the shared tier: a wait for another replica's fetch spends the same
      // deadline as the fetch after it, so a caller never waits longer than its deadline.
      startDeadline(call, clock, call.deadlineMs)
      return throughStore(key, call, resilient).then(
        (entry) => {
          cache.set(key, entry.value, entry.bytes, entry.ttlMs)
          return entry.value
        },
        (error: unknown) => {
          if (cache.staleIfError && servesStale(error)) {
            const stale = cache.stale(key)
            if (stale !== undefined) {
              call.outcome = 'stale'
              if (hooks.cacheHit.active) hooks.cacheHit.emit({ key, stale: true, call })
              return stale.value
            }
          }
          throw error
        },
      )
    })
    // A follower keeps its own deadline: the call it joined may have been started by a caller
    // with a longer one.
    const own = deliverByDeadline(
      follower ? raceDeadline(shared, call, clock) : shared,
      call,
      clock,
    )
    return signal === undefined ? own : raceSignal(own, signal, call)
  }

  function servesStale(error: unknown): boolean {
    // A concurrency-limit refusal shares the open circuit's code, and is served stale the same.
    return isUpstreamError(error) && (error.code === 'UPSTREAM_CIRCUIT_OPEN' || isFailure(error))
  }

  function request(
    method: string,
    path: string,
    body: unknown,
    options: WriteOptions | undefined,
  ): Promise<never> {
    if (closed) {
      return Promise.reject(
        new UpstreamClientClosedError({ method, url: config.origin + config.basePath + path }),
      )
    }
    let call: Call
    try {
      call = createCall(method, path, body, options)
    } catch (error) {
      return Promise.reject(error)
    }
    if (hooks.callStart.active) hooks.callStart.emit(call)
    if (!hooks.callEnd.active) return execute(call, options?.cache !== false) as Promise<never>
    call.startedAt = clock.now()
    return execute(call, options?.cache !== false).then(
      (value) => {
        endCall(call, call.outcome, undefined)
        return value
      },
      (error: unknown) => {
        endCall(call, 'error', error)
        throw error
      },
    ) as Promise<never>
  }

  function endCall(call: Call, outcome: CallOutcome, error: unknown): void {
    if (!hooks.callEnd.active) return
    const event: CallEndEvent = { call, outcome, durationMs: clock.now() - call.startedAt }
    if (error !== undefined) event.error = error
    hooks.callEnd.emit(event)
  }

  /** Builds the call; every caller error throws `InvalidOptionError` here, before any I/O. */
  function createCall(
    method: string,
    path: string,
    body: unknown,
    options: WriteOptions | undefined,
  ): Call {
    validatePath(path)
    const serialized = body === undefined ? undefined : serializeBody(body)
    let callPath = path
    let headers: Record<string, string> = body !== undefined ? writeHeaders : readHeaders
    let requestId: string | undefined
    let idempotencyKey: string | undefined
    let timeoutMs = config.timeoutMs
    let deadlineMs = config.deadlineMs
    let signal: AbortSignal | undefined
    if (options !== undefined) {
      validateCallOptions(options)
      requestId = options.requestId
      idempotencyKey = options.idempotencyKey
      signal = options.signal
      timeoutMs = options.timeoutMs ?? timeoutMs
      deadlineMs = options.deadlineMs ?? deadlineMs
      if (options.query !== undefined) callPath = appendQuery(path, options.query)
      // Shared header objects are only copied when this call adds something of its own.
      if (
        options.headers !== undefined ||
        requestId !== undefined ||
        idempotencyKey !== undefined
      ) {
        headers = { ...headers, ...options.headers }
        if (requestId !== undefined) headers['x-request-id'] = requestId
        if (idempotencyKey !== undefined) headers['idempotency-key'] = idempotencyKey
      }
    }
    const requestPath = config.basePath + callPath
    return {
      client: name,
      method,
      operation: operationOf(method, path, options?.operation),
      path: callPath,
      requestPath,
      url: config.origin + requestPath,
      headers,
      extraHeaders: options?.headers,
      body: serialized,
      signal,
      requestId,
      retrySafe: SAFE_METHODS.has(method) || idempotencyKey !== undefined,
      timeoutMs,
      deadlineMs,
      deadlineAt: 0,
      responseBytes: 0,
      attempts: 0,
      startedAt: 0,
      outcome: 'upstream',
    }
  }

  return {
    get: <T>(path: string, opts?: CallOptions) =>
      request('GET', path, undefined, opts) as Promise<T>,
    post: <T>(path: string, body: unknown, opts?: WriteOptions) =>
      request('POST', path, body, opts) as Promise<T>,
    put: <T>(path: string, body: unknown, opts?: WriteOptions) =>
      request('PUT', path, body, opts) as Promise<T>,
    patch: <T>(path: string, body: unknown, opts?: WriteOptions) =>
      request('PATCH', path, body, opts) as Promise<T>,
    delete: <T>(path: string, opts?: WriteOptions) =>
      request('DELETE', path, undefined, opts) as Promise<T>,
    get circuitState() {
      return breakers?.state ?? 'closed'
    },
    circuitStates: () => breakers?.states() ?? {},
    name,
    deadlineMs: config.deadlineMs,
    limit: (operation) => limiter?.limit(operation),
    onLimitChange: (listener) => hooks.limitChange.subscribe(listener),
    onRequest: (listener) => hooks.request.subscribe(listener),
    onResponse: (listener) => hooks.response.subscribe(listener),
    onAttemptError: (listener) => hooks.attemptError.subscribe(listener),
    onRetry: (listener) => hooks.retry.subscribe(listener),
    onBudgetExhausted: (listener) => hooks.budgetExhausted.subscribe(listener),
    onStateChange: (listener) => hooks.stateChange.subscribe(listener),
    onRampChange: (listener) => hooks.rampChange.subscribe(listener),
    onCacheHit: (listener) => hooks.cacheHit.subscribe(listener),
    onCacheMiss: (listener) => hooks.cacheMiss.subscribe(listener),
    onCoalesced: (listener) => hooks.coalesced.subscribe(listener),
    onCallStart: (listener) => hooks.callStart.subscribe(listener),
    onCallEnd: (listener) => hooks.callEnd.subscribe(listener),
    close: () => {
      // Idempotent: shutdown code paths (signal handlers, test teardown) often close twice, and
      // undici throws on closing a pool a second time. Every caller awaits the same close.
      if (closing === undefined) {
        closed = true
        // An own breaker is shut down first, so this client's listeners still hear the ramp
        // `aborted` event of that shutdown.
        breakers?.shutdown()
        if (!(config.breaker instanceof CircuitBreakerPolicy)) fleet?.shutdown()
        for (const off of unsubscribeBreakers) off()
        detachTelemetry?.()
        cache?.clear()
        closing = Promise.resolve(ownPool?.close()).then(() => undefined)
      }
      return closing
    },
  }
}

/**
 * Private: the client's breakers: one per operation (the default), a shared handle's single
 * breaker, or none.
 */
function createBreakers(config: ResolvedOptions): BreakerSet | undefined {
  const option = config.breaker
  if (option === false) return undefined
  if (option instanceof CircuitBreakerPolicy) return new SharedBreaker(option)
  const { name, logger, maxOperations } = config
  return new OperationBreakers(name, option, config.clock, maxOperations, (operation) => {
    const message = `upstream '${name}' has more than maxOperations (${maxOperations}) operations; ${JSON.stringify(operation)} and later ones share the breaker '(other)'`
    if (logger !== undefined) logger.warn({ upstream: name, operation, maxOperations }, message)
    else process.emitWarning(message, { code: 'UPSTREAM_MAX_OPERATIONS' })
  })
}

/** Private: the fleet layer of an own breaker with a `store`, or the one of a shared breaker. */
function createFleet(
  config: ResolvedOptions,
  isFailure: (error: UpstreamError) => boolean,
): FleetBreakerPolicy | undefined {
  const option = config.breaker
  if (option === false) return undefined
  if (option instanceof CircuitBreakerPolicy) return sharedFleets.get(option)
  if (option.store === undefined) return undefined
  return new FleetBreakerPolicy(config.name, option.store, option, isFailure, config.clock)
}

/** Private: the cache and coalescing key of a GET; per-call headers can change the answer. */
function cacheKey(call: Call): string {
  const extra = call.extraHeaders
  if (extra === undefined) return call.path
  return `${call.path}\n${JSON.stringify(Object.entries(extra).sort(([a], [b]) => (a < b ? -1 : 1)))}`
}

/** Private: settles with `promise`, or with an abort error as soon as `signal` fires. */
function raceSignal(promise: Promise<unknown>, signal: AbortSignal, call: Call): Promise<unknown> {
  const abortError = () => abortErrorOf(call, signal)
  if (signal.aborted) return Promise.reject(abortError())
  return new Promise((resolve, reject) => {
    const unsubscribe = onAbort(signal, () => reject(abortError()))
    promise.then(
      (value) => {
        unsubscribe()
        resolve(value)
      },
      (error: unknown) => {
        unsubscribe()
        reject(error)
      },
    )
  })
}

/** Private: the error of a call whose caller aborted before any attempt of its own. */
function abortErrorOf(call: Call, signal: AbortSignal): UpstreamAbortError {
  return new UpstreamAbortError({
    method: call.method,
    url: call.url,
    attempts: 0,
    cause: signal.reason,
  })
}
