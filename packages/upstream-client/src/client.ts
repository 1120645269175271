import { Pool } from 'undici'
import type { Call } from './call.js'
import { callFactory } from './calls.js'
import type {
  CallOptions,
  ResponseCacheInfo,
  UpstreamClient,
  WriteOptions,
} from './client-types.js'
import type { Clock } from './clock.js'
import { UpstreamClientClosedError } from './errors/client-closed-error.js'
import type { CallEndEvent } from './hooks.js'
import { ClientHooks } from './hooks.js'
import { freshnessOf } from './http-freshness.js'
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
import { RateLimitPolicy, rateLimitStep } from './policies/rate-limit.js'
import { budgetRecordStep, RetryBudget } from './policies/retry/budget.js'
import { RetryPolicy, retryStep } from './policies/retry/retry.js'
import { sharedTierStep } from './policies/shared-tier.js'
import { staleIfErrorStep } from './policies/stale-if-error.js'
import { attachTelemetry } from './telemetry/attach.js'
import { runAttempt } from './transport/attempt.js'

/**
 * Creates a client for one upstream. Options are validated here; an invalid one throws
 * `InvalidOptionError` naming it and quoting the value.
 *
 * A call runs through one list of steps, outermost first (README, "How a call runs"); a policy
 * that is turned off is left out of the list, so it costs nothing per call:
 *
 * - per call: fresh cache → delivery by the deadline → coalescing → stale-if-error → deadline →
 *   cache write-back → shared tier → bulkhead → the user's `call` steps → retry → hedge;
 * - per attempt (each `next(call)` of the innermost call step is one attempt, see `toAttempts`):
 *   adaptive limit → fleet breaker → operation breaker → retry-budget count → rate limit → the
 *   user's `attempt` steps →
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
  const honorHeaders = config.cache !== false && config.cache.honorHeaders

  // The documented order, outermost first. Steps run once per call down to retry; below the
  // boundary each step runs once per attempt.
  const callSteps = present<Call>(
    cache && cacheReadStep(cache, hooks),
    deliveryStep(clock),
    cache && coalesceStep(new Coalescer(), clock, hooks),
    cache && staleIfErrorStep(cache, breakers.isFailure, hooks),
    deadlineStep(clock),
    cache && cacheWriteStep(cache, hooks),
    cache && config.store && sharedTierStep(config.store, name, ttlMs, honorHeaders),
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
    // Inside the breakers: they see a 429 as a quota (not counted), and a retry pays a token.
    config.rateLimit &&
      rateLimitStep(new RateLimitPolicy(name, config.rateLimit, clock, config.maxOperations)),
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
    const onHeaders = options?.onHeaders
    if (onHeaders !== undefined) return withHeaders(execute(call), call, onHeaders, hooks, clock)
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
    ...hookSubscriptions(hooks),
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

/** Private: the facade's `on…` methods, each subscribing to one hook and returning its unsubscribe. */
function hookSubscriptions(hooks: ClientHooks): Pick<UpstreamClient, HookMethod> {
  return {
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
    onCacheNotStored: (listener) => hooks.cacheNotStored.subscribe(listener),
    onCoalesced: (listener) => hooks.coalesced.subscribe(listener),
    onCallStart: (listener) => hooks.callStart.subscribe(listener),
    onCallEnd: (listener) => hooks.callEnd.subscribe(listener),
  }
}

/** Private: the names of the facade's hook subscriptions. */
type HookMethod =
  | 'onLimitChange'
  | 'onRequest'
  | 'onResponse'
  | 'onAttemptError'
  | 'onRetry'
  | 'onHedge'
  | 'onBudgetExhausted'
  | 'onStateChange'
  | 'onRampChange'
  | 'onCacheHit'
  | 'onCacheMiss'
  | 'onCacheNotStored'
  | 'onCoalesced'
  | 'onCallStart'
  | 'onCallEnd'

/**
 * Private: a call with an `onHeaders` option: the caller hears the answer's caching headers before
 * the call resolves (a throwing listener is the caller's own error), then the call ends as usual.
 */
function withHeaders(
  running: Promise<unknown>,
  call: Call,
  onHeaders: (info: ResponseCacheInfo) => void,
  hooks: ClientHooks,
  clock: Clock,
): Promise<never> {
  if (hooks.callEnd.active) call.startedAt = clock.now()
  return running.then(
    (value) => {
      const headers = call.responseHeaders ?? {}
      onHeaders({ headers, cacheable: freshnessOf(headers, 1, true).notStored === undefined })
      endCall(hooks, call, call.outcome, undefined, clock.now())
      return value
    },
    (error: unknown) => {
      endCall(hooks, call, 'error', error, clock.now())
      throw error
    },
  ) as Promise<never>
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
