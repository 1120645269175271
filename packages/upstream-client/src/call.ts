import type { Clock } from './clock.js'
import { UpstreamTimeoutError } from './errors/timeout-error.js'

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
  /** How a successful call was answered (see `CallOutcome`); `upstream` unless a cache step set it. */
  outcome: 'upstream' | 'cache' | 'store' | 'stale' | 'coalesced'
}

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
