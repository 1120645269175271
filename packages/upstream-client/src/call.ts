import type { Clock } from './clock.js'
import { UpstreamTimeoutError } from './errors/timeout-error.js'
import type { ResponseHeaders } from './http-freshness.js'

/**
 * @internal The state of one client call, created once per call and handed down the policy
 * chain. Plain mutable fields keep the success path free of per-layer allocations.
 */
export interface Call {
  /** The client (upstream) name, for hooks and telemetry (see `CallState`). */
  client: string
  method: string
  /**
   * The call's operation key, computed once per call: the `operation` call option, else
   * `${METHOD} ${template}` of a path built with the `path` tag, else the method and the first
   * path segment (`GET /getUserById`). Stable and bounded: breakers, `maxInFlight`, hooks and
   * log lines are keyed by it, and later work uses it in Redis keys and metric labels.
   */
  operation: string
  /** Path as given by the caller, e.g. `/getUserById/1`. */
  path: string
  /** Base path + path, what goes on the request line. */
  requestPath: string
  /** Absolute URL, for errors and hooks. */
  url: string
  headers: Record<string, string>
  /** The caller's own headers for this call, if any (part of the cache key). */
  extraHeaders: Record<string, string> | undefined
  /** Serialised JSON body, if any. */
  body: string | undefined
  signal: AbortSignal | undefined
  requestId: string | undefined
  /** True when a retry can never duplicate a write: safe methods, or an idempotency key. */
  retrySafe: boolean
  timeoutMs: number
  /** The whole call's time budget, in ms; `deadlineAt` is derived from it. */
  deadlineMs: number
  /** Absolute time (clock ms) at which the whole call must have settled. */
  deadlineAt: number
  /** Size of the last response body, recorded by the transport for the cache's byte bound. */
  responseBytes: number
  /** Attempts dispatched so far; set by the transport. */
  attempts: number
  /** Clock time the call started, read only when someone listens to call ends (else 0). */
  startedAt: number
  /** Attempts started so far (numbers the next one); set at the call/attempt boundary. */
  attemptsStarted: number
  /** `false` when the caller turned hedging off for this call (`hedge: false`). */
  hedge: boolean
  /** `false` when the caller bypassed the cache and coalescing (`cache: false`). */
  useCache: boolean
  /** The cache and coalescing key, set by the cache step for a cacheable GET (else undefined). */
  cacheKey: string | undefined
  /** Time left to live of an answer from the shared tier, for the local cache (else undefined). */
  entryTtlMs: number | undefined
  /** Headers of the last response received (lower-case names), set by the transport. */
  responseHeaders: ResponseHeaders | undefined
  /**
   * The stored answer this call revalidates (an expired entry with validators), set by the cache
   * step: the write-back step sends its validators, and a `304` answers with its value.
   */
  revalidating: StoredAnswer | undefined
  /** How a successful call was answered (see `CallOutcome`); `upstream` unless a cache step set it. */
  outcome: 'upstream' | 'cache' | 'store' | 'stale' | 'coalesced' | 'revalidated'
  /**
   * The client's own OpenTelemetry state of this call: its trace (`telemetry/tracing.ts`) and
   * whether it is counted in flight (`telemetry/metrics.ts`). Slots on the call rather than
   * `WeakMap` entries: a weak entry per call is ephemeron work for every garbage collection.
   */
  traceState: unknown
  metered: boolean
}

/** @internal A stored GET answer, as a conditional request revalidates it. */
export interface StoredAnswer {
  value: unknown
  bytes: number
  etag: string | undefined
  lastModified: string | undefined
  /** The caching headers it was stored with (a `304` updates them). */
  headers: ResponseHeaders
}

/**
 * @internal What the transport resolves with when a conditional GET (one that sent
 * `If-None-Match` or `If-Modified-Since`) was answered `304 Not Modified`: the stored value
 * is still good, and the steps that sent the validators replace this marker with it.
 */
export const notModified: unique symbol = Symbol('userevents.not-modified')

// The call's deadline: foundations, read by the deadline step, the queues and the transport.

/**
 * @internal Fixes the absolute time by which the whole call (attempts, retry waits, queueing)
 * must have settled.
 */
export function startDeadline(call: Call, clock: Clock, deadlineMs: number): void {
  call.deadlineAt = clock.now() + deadlineMs
}

/** @internal The error of a call whose overall deadline passed, after `attempts` attempts. */
export function deadlineError(call: Call, attempts: number): UpstreamTimeoutError {
  return new UpstreamTimeoutError({
    method: call.method,
    url: call.url,
    attempts,
    timeoutMs: call.deadlineMs,
    phase: 'deadline',
  })
}

/**
 * @internal Per-attempt budget: the smaller of the attempt's own timeout and the time left before
 * the deadline. Zero or less means the deadline has already passed; a budget below
 * `call.timeoutMs` means the deadline, not the attempt timeout, is what limits this attempt.
 */
export function attemptBudget(call: Call, now: number): number {
  return Math.min(call.deadlineAt - now, call.timeoutMs)
}
