import type { Channel } from 'node:diagnostics_channel'
import type { UpstreamError } from './errors/upstream-error.js'
import { channels } from './telemetry/channels.js'

/** State of the circuit breaker. */
export type CircuitState = 'closed' | 'open' | 'halfOpen'

/**
 * The state object of one call. The same object is passed to `onCallStart`, carried as `call` by
 * every attempt, retry, cache and coalescing event of that call, and carried again by
 * `onCallEnd`; a listener can use it as a `WeakMap` key to keep its own per-call state (a span,
 * a timer) without the client allocating anything for it.
 */
export interface CallState {
  /** The client (upstream) name. */
  readonly client: string
  readonly method: string
  /** Path as given by the caller (with its query), e.g. `/getUserById/1`. */
  readonly path: string
  /** The call's operation key (breaker key), e.g. `GET /getUserById/{}` or `getUserById`. */
  readonly operation: string
  /** Absolute URL of the request. */
  readonly url: string
  readonly requestId: string | undefined
  /** Attempts dispatched so far (0 while none was; a cache hit or coalesced call ends with 0). */
  readonly attempts: number
}

/** Passed to `onCallEnd` listeners when a call settled, whatever its outcome. */
export interface CallEndEvent {
  call: CallState
  /** How the call was answered. */
  outcome: CallOutcome
  /** The error the caller receives, when the call failed (any error, not only upstream ones). */
  error?: unknown
  /** Time from the call's start to its settlement, in ms, on the client's clock. */
  durationMs: number
}

/**
 * How a call was answered: `upstream` by its own attempts, `cache` by a fresh cache entry,
 * `store` by the shared (fleet) store, `stale` by an expired entry after a failure
 * (stale-if-error), `coalesced` by an identical call already in flight, `error` when it failed.
 */
export type CallOutcome =
  | 'upstream'
  | 'cache'
  | 'store'
  | 'stale'
  | 'coalesced'
  | 'revalidated'
  | 'error'

/** Passed to `onRequest` listeners before each attempt is dispatched. */
export interface RequestEvent {
  method: string
  url: string
  path: string
  /** The call's operation key (breaker key), e.g. `GET /getUserById/{}`. */
  operation: string
  /** 1 for the first attempt. */
  attempt: number
  requestId?: string
  /** The call this attempt belongs to. */
  call: CallState
  /**
   * The headers this attempt is sent with: a copy made for this attempt, so a listener may add
   * entries (trace context, say) that go out with this attempt only.
   */
  headers: Record<string, string>
}

/** Passed to `onResponse` listeners when an attempt received a complete response (any status). */
export interface ResponseEvent {
  method: string
  url: string
  path: string
  /** The call's operation key (breaker key), e.g. `GET /getUserById/{}`. */
  operation: string
  attempt: number
  status: number
  /** The response's headers (lower-case names), as undici delivered them. */
  headers: Readonly<Record<string, string | string[] | undefined>>
  durationMs: number
  requestId?: string
  /** The call this attempt belongs to. */
  call: CallState
}

/** Passed to `onAttemptError` listeners when an attempt failed (timeout, network, status, body). */
export interface AttemptErrorEvent {
  method: string
  url: string
  path: string
  /** The call's operation key (breaker key), e.g. `GET /getUserById/{}`. */
  operation: string
  attempt: number
  durationMs: number
  error: UpstreamError
  requestId?: string
  /** The call this attempt belongs to. */
  call: CallState
}

/**
 * Passed to `onHedge` listeners (see the `hedge` option): `sent` when a hedge attempt is
 * dispatched because the call's attempt had not answered within the hedge delay; `won` when a
 * hedge answered first (the other attempt was aborted, which is no failure); `lost` when the
 * first attempt answered first and the hedge was aborted; `refused` when the delay passed but a
 * rule kept the hedge back (`reason`).
 */
export interface HedgeEvent {
  type: 'sent' | 'won' | 'lost' | 'refused'
  /**
   * Why a hedge was refused: the call's deadline left no room (`deadline`), the operation's
   * circuit is not closed (`circuit`), its hedges reached `maxExtraLoad` (`load`), or the retry
   * budget is spent (`budget`). Only on `refused`.
   */
  reason?: 'deadline' | 'circuit' | 'load' | 'budget'
  method: string
  url: string
  path: string
  /** The call's operation key, e.g. `GET /getUserById/{}`. */
  operation: string
  /** The hedge's attempt number (`sent`, `won`, `lost`); the waiting attempt's on `refused`. */
  attempt: number
  /** The delay the hedge waited, in ms (the live percentile with `delayMs: 'auto'`). */
  delayMs: number
  requestId?: string
  /** The call being hedged. */
  call: CallState
}

/** Passed to `onRetry` listeners when a retry has been scheduled. */
export interface RetryEvent {
  method: string
  url: string
  path: string
  /** The call's operation key (breaker key), e.g. `GET /getUserById/{}`. */
  operation: string
  /** The attempt that failed; the retry will be attempt `attempt + 1`. */
  attempt: number
  /** Wait before the retry, in ms (from backoff or `Retry-After`). */
  delayMs: number
  error: UpstreamError
  requestId?: string
  /** The call being retried. */
  call: CallState
}

/**
 * Passed to `onBudgetExhausted` listeners when the retry budget refused a retry: the caller got
 * the error of attempt `attempt` at once, and the upstream was spared a request.
 */
export interface BudgetExhaustedEvent {
  /** The operation whose budget is spent, e.g. `GET /getEventById`. */
  operation: string
  method: string
  url: string
  path: string
  /** The attempt that failed and was not retried. */
  attempt: number
  /** The error the caller receives. */
  error: UpstreamError
  /** Calls of the operation sent upstream in the budget's window. */
  calls: number
  /** Retries of the operation in the window. */
  retries: number
  /** Retries the window allows: max(ratio × calls, floor). */
  allowed: number
  requestId?: string
}

/**
 * Passed to `onLimitChange` listeners when an operation's adaptive concurrency limit (a whole
 * number of attempts in flight) changed.
 */
export interface LimitChangeEvent {
  /** The operation, e.g. `GET /getEventById`. */
  operation: string
  /** The new limit. */
  limit: number
  /** The limit before this change. */
  previous: number
  /** The round-trip time of the attempt that caused the change, in ms. */
  rttMs: number
  /** The operation's long-term average round-trip time, in ms. */
  longRttMs: number
  /** Attempts of the operation in flight after that attempt settled. */
  inFlight: number
}

/** Passed to `onStateChange` listeners when the circuit changes state. */
export interface StateChangeEvent {
  /** The upstream (breaker group) name. */
  name: string
  /**
   * The operation whose breaker changed, `(other)` for the overflow breaker, `*` for a shared
   * one; for a `scope: 'fleet'` event, the operation whose fleet circuit changed.
   */
  operation: string
  from: CircuitState
  to: CircuitState
  /**
   * `'fleet'` when the fleet-wide circuit of `operation` changed as this replica learned it from
   * the breaker state store (`breaker.store`); absent for this process's own breaker.
   */
  scope?: 'fleet'
}

/**
 * Passed to `onRampChange` listeners as traffic returns after a successful half-open probe: the
 * circuit is already `closed`, but the calls allowed in flight start at 2 and double with each
 * success until `breaker.rampLimit`; calls beyond the allowance wait in a bounded queue.
 *
 * - `started`: the probe succeeded; `allowedInFlight` is 2 and `queued` 0.
 * - `widened`: a success doubled the allowance; `queued` counts the calls still waiting after
 *   the newly allowed ones were let in.
 * - `finished`: the allowance reached `rampLimit`; `allowedInFlight` is `Infinity` and `queued`
 *   counts the waiting calls released at once.
 * - `aborted`: a failure re-opened the circuit (the circuit is then `open`) or the client was
 *   closed; `allowedInFlight` is 0 and `queued` counts the waiting calls rejected with
 *   `CircuitOpenError`.
 *
 * There is no ramp when `breaker.rampLimit` is 2 or less, so no event either.
 */
export interface RampChangeEvent {
  /** The upstream (breaker group) name. */
  name: string
  /** The operation whose breaker is ramping, `(other)` for the overflow breaker, `*` for a shared one. */
  operation: string
  /** Calls allowed in flight from now on; `Infinity` when the ramp finished, 0 when aborted. */
  allowedInFlight: number
  /** Calls waiting in the ramp queue at this change (see the phases above). */
  queued: number
  phase: RampPhase
}

/** Phase of the post-recovery ramp reported by {@link RampChangeEvent}. */
export type RampPhase = 'started' | 'widened' | 'finished' | 'aborted'

/**
 * Passed to `onCacheHit` listeners. `state` says how the entry answered: `fresh` (within its
 * lifetime), `revalidated` (expired, and the upstream answered our conditional request with
 * `304`), `stale` (expired and served anyway: `stale-while-revalidate`, or on error); `stale` is
 * true for the last one.
 */
export interface CacheHitEvent {
  key: string
  stale: boolean
  state: 'fresh' | 'revalidated' | 'stale'
  /** The call answered from the cache. */
  call: CallState
}

/** Passed to `onCacheMiss` listeners. */
export interface CacheMissEvent {
  key: string
  /** The call that missed. */
  call: CallState
}

/**
 * Passed to `onCacheNotStored` listeners when a GET's answer was not stored because its headers
 * forbid it: `no-store`, `private` (this cache is shared by every caller) or `Vary: *`.
 */
export interface CacheNotStoredEvent {
  key: string
  reason: 'no-store' | 'private' | 'vary-star'
  /** The call whose answer was not stored. */
  call: CallState
}

/** Passed to `onCoalesced` listeners when a GET joined an identical one already in flight. */
export interface CoalescedEvent {
  key: string
  /** The call that joined (it sends no request of its own). */
  call: CallState
}

/**
 * @internal One event channel. Listeners are stored in an array replaced on every change, so a
 * listener that unsubscribes during `emit` does not disturb the loop. `active` lets the hot path
 * skip building the event object when nobody listens.
 *
 * A hook may also publish on a `node:diagnostics_channel` channel (see `telemetry/channels.ts`):
 * the event object itself is the message, published after the listeners ran, and `active` is
 * true while the channel has subscribers, so an APM agent that subscribes costs what a listener
 * costs and nothing otherwise.
 */
export class Hook<E> {
  #listeners: ReadonlyArray<(event: E) => void> = []
  readonly #channel: Channel | undefined

  constructor(channel?: Channel) {
    this.#channel = channel
  }

  get active(): boolean {
    return this.#listeners.length > 0 || this.#channel?.hasSubscribers === true
  }

  subscribe(listener: (event: E) => void): () => void {
    if (typeof listener !== 'function') {
      throw new TypeError(`Expected a listener function, got ${typeof listener}`)
    }
    this.#listeners = [...this.#listeners, listener]
    return () => {
      this.#listeners = this.#listeners.filter((l) => l !== listener)
    }
  }

  emit(event: E): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch {
        // A metrics or logging listener must never change the outcome of a call, so its
        // exceptions are dropped here rather than surfacing as upstream failures.
      }
    }
    // diagnostics_channel reports a subscriber's exception on the next tick itself, without
    // interrupting the publisher, so the call's outcome is safe here too.
    if (this.#channel?.hasSubscribers) this.#channel.publish(event)
  }
}

/**
 * @internal All event channels of one client; the single place events are emitted from. The
 * circuit's state and ramp hooks are forwarded from the breaker policy, which publishes them on
 * their diagnostics channels itself (a shared breaker would otherwise publish once per client).
 */
export class ClientHooks {
  readonly callStart = new Hook<CallState>(channels.callStart)
  readonly callEnd = new Hook<CallEndEvent>(channels.callEnd)
  readonly request = new Hook<RequestEvent>(channels.request)
  readonly response = new Hook<ResponseEvent>(channels.response)
  readonly attemptError = new Hook<AttemptErrorEvent>(channels.attemptError)
  readonly retry = new Hook<RetryEvent>(channels.retry)
  readonly hedge = new Hook<HedgeEvent>(channels.hedge)
  readonly budgetExhausted = new Hook<BudgetExhaustedEvent>()
  readonly limitChange = new Hook<LimitChangeEvent>()
  readonly stateChange = new Hook<StateChangeEvent>()
  readonly rampChange = new Hook<RampChangeEvent>()
  readonly cacheHit = new Hook<CacheHitEvent>(channels.cacheHit)
  readonly cacheMiss = new Hook<CacheMissEvent>(channels.cacheMiss)
  readonly cacheNotStored = new Hook<CacheNotStoredEvent>(channels.cacheNotStored)
  readonly coalesced = new Hook<CoalescedEvent>(channels.coalesced)
}
