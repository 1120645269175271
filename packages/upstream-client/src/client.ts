import { Pool } from 'undici'
import type { Call } from './call.js'
import type { Query } from './call-input.js'
import { callFactory } from './calls.js'
import { UpstreamClientClosedError } from './errors/client-closed-error.js'
import type {
  AttemptErrorEvent,
  BudgetExhaustedEvent,
  CacheHitEvent,
  CacheMissEvent,
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
import { ClientHooks } from './hooks.js'
import { attachLogger } from './logging.js'
import { type ResolvedOptions, resolveOptions, type UpstreamClientOptions } from './options.js'
import { type Attempt, compose, type Step, toAttempts } from './pipeline.js'
import { AdaptiveLimiter, adaptiveLimitStep } from './policies/adaptive-limit.js'
import { BreakerLayer } from './policies/breaker/layer.js'
import { BulkheadPolicy, bulkheadStep } from './policies/bulkhead.js'
import { cacheReadStep, cacheWriteStep, ResponseCache } from './policies/cache.js'
import { Coalescer, coalesceStep } from './policies/coalesce.js'
import { deadlineStep, deliveryStep } from './policies/deadline.js'
import { HedgePolicy, hedgeStep } from './policies/hedge.js'
import { budgetRecordStep, RetryBudget } from './policies/retry/budget.js'
import { RetryPolicy, retryStep } from './policies/retry/retry.js'
import { sharedTierStep } from './policies/shared-tier.js'
import { staleIfErrorStep } from './policies/stale-if-error.js'
import { attachTelemetry } from './telemetry/attach.js'
import { runAttempt } from './transport/attempt.js'

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

/**
 * Creates a client for one upstream. Options are validated here; an invalid one throws
 * `InvalidOptionError` naming it and quoting the value.
 *
 * A call runs through one list of steps, outermost first (README, "How a call runs"); a policy
 * that is turned off is left out of the list, so it costs nothing per call:
 *
 * - per call: fresh cache → delivery by the deadline → coalescing → stale-if-error → deadline →
 *   cache write-back → shared tier → bulkhead → the user's `call` steps → retry → hedge;
 * - per attempt (each `next(call)` of the innermost call step is one attempt, see `toAttempts`): adaptive
 *   limit → fleet breaker → operation breaker → retry-budget count → the user's `attempt` steps →
 *   transport (per-attempt timeout, dispatcher, body limit and parse, error classification).
 *
 * For a cacheable GET the deadline starts inside the coalesced work and before the shared tier,
 * so a wait for another replica's fetch spends it; stale-if-error wraps the shared tier; a
 * coalesced follower races its own deadline (coalescing step); the budget counts a call on its
 * first attempt below the breakers, so only calls really sent count.
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
  const transport = {
    dispatcher: config.dispatcher ?? (ownPool as Pool),
    origin: config.origin,
    maxBodyBytes: config.maxBodyBytes,
    clock,
    hooks,
    deadlineHeader: config.deadlineHeader,
  }
  const retry = config.retry === false ? undefined : config.retry
  const budget =
    retry === undefined || retry.budget === false
      ? undefined
      : new RetryBudget(retry.budget, clock, config.maxOperations)
  const breakers = new BreakerLayer({ ...config, onOverflow: overflowWarning(config) }, hooks)
  const limiter =
    config.adaptiveLimit === false
      ? undefined
      : new AdaptiveLimiter(name, config.adaptiveLimit, clock, hooks, config.maxOperations)
  const bulkhead = Number.isFinite(config.maxInFlight)
    ? new BulkheadPolicy(name, config, clock)
    : undefined
  const cache = config.cache === false ? undefined : new ResponseCache(config.cache, clock)
  const ttlMs = config.cache === false ? 0 : config.cache.ttlMs

  // The documented order, outermost first. Steps run once per call down to retry; below the
  // boundary each step runs once per attempt.
  const callSteps = present<Call>(
    cache && cacheReadStep(cache, hooks),
    deliveryStep(clock),
    cache && coalesceStep(new Coalescer(), clock, hooks),
    cache?.staleIfError && staleIfErrorStep(cache, breakers.isFailure, hooks),
    deadlineStep(clock),
    cache && cacheWriteStep(cache),
    cache && config.store && sharedTierStep(config.store, name, ttlMs),
    bulkhead && bulkheadStep(bulkhead),
    ...config.steps.call,
    retry && retryStep(new RetryPolicy(retry, clock, hooks, budget)),
    config.hedge &&
      hedgeStep(
        new HedgePolicy(config.hedge, {
          clock,
          hooks,
          circuits: breakers,
          budget,
          maxOperations: config.maxOperations,
        }),
      ),
  )
  const attemptSteps = present<Attempt>(
    limiter && adaptiveLimitStep(limiter),
    ...breakers.steps(),
    budget && budgetRecordStep(budget),
    ...config.steps.attempt,
  )
  const transportStep = (attempt: Attempt) => runAttempt(transport, attempt)
  const execute = compose(callSteps, toAttempts(compose(attemptSteps, transportStep)))

  if (config.logger !== undefined) {
    attachLogger(config.logger.child({ upstream: name }), hooks, (op) => breakers.stateOf(op))
  }
  const detachTelemetry = attachTelemetry(
    config.telemetry,
    hooks,
    config,
    () => Object.entries(breakers.states()),
    () => bulkhead?.waiting() ?? [],
  )
  const createCall = callFactory(config)
  let closed = false
  let closing: Promise<void> | undefined

  function request(
    method: string,
    path: string,
    body: unknown,
    options: WriteOptions | undefined,
  ): Promise<never> {
    if (closed) return Promise.reject(closedError(config, method, path))
    let call: Call
    try {
      call = createCall(method, path, body, options)
    } catch (error) {
      return Promise.reject(error)
    }
    if (hooks.callStart.active) hooks.callStart.emit(call)
    if (!hooks.callEnd.active) return execute(call) as Promise<never>
    call.startedAt = clock.now()
    return execute(call).then(
      (value) => {
        endCall(hooks, call, call.outcome, undefined, clock.now())
        return value
      },
      (error: unknown) => {
        endCall(hooks, call, 'error', error, clock.now())
        throw error
      },
    ) as Promise<never>
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
      return breakers.state
    },
    circuitStates: () => breakers.states(),
    name,
    deadlineMs: config.deadlineMs,
    limit: (operation) => limiter?.limit(operation),
    onLimitChange: (listener) => hooks.limitChange.subscribe(listener),
    onRequest: (listener) => hooks.request.subscribe(listener),
    onResponse: (listener) => hooks.response.subscribe(listener),
    onAttemptError: (listener) => hooks.attemptError.subscribe(listener),
    onRetry: (listener) => hooks.retry.subscribe(listener),
    onHedge: (listener) => hooks.hedge.subscribe(listener),
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
        breakers.shutdown()
        detachTelemetry?.()
        cache?.clear()
        closing = Promise.resolve(ownPool?.close()).then(() => undefined)
      }
      return closing
    },
  }
}

/** Private: the steps that are on (a policy turned off is `undefined` or `false` in the list). */
function present<C>(...steps: Array<Step<C> | false | undefined | ''>): Step<C>[] {
  return steps.filter(
    (step): step is Step<C> => step !== undefined && step !== false && step !== '',
  )
}

/** Private: reports a settled call to `onCallEnd` listeners. */
function endCall(
  hooks: ClientHooks,
  call: Call,
  outcome: CallEndEvent['outcome'],
  error: unknown,
  now: number,
): void {
  if (!hooks.callEnd.active) return
  const event: CallEndEvent = { call, outcome, durationMs: now - call.startedAt }
  if (error !== undefined) event.error = error
  hooks.callEnd.emit(event)
}

/** Private: the error of a call made after `close()` (a caller's bug, not an upstream outage). */
function closedError(config: ResolvedOptions, method: string, path: string) {
  return new UpstreamClientClosedError({ method, url: config.origin + config.basePath + path })
}

/** Private: warns once when operations overflow `maxOperations` into the `(other)` breaker. */
function overflowWarning(config: ResolvedOptions): (operation: string) => void {
  const { name, logger, maxOperations } = config
  return (operation) => {
    const message = `upstream '${name}' has more than maxOperations (${maxOperations}) operations; ${JSON.stringify(operation)} and later ones share the breaker '(other)'`
    if (logger !== undefined) logger.warn({ upstream: name, operation, maxOperations }, message)
    else process.emitWarning(message, { code: 'UPSTREAM_MAX_OPERATIONS' })
  }
}
