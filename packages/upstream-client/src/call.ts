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
  /** How a successful call was answered (see `CallOutcome`); `upstream` unless a cache step set it. */
  outcome: 'upstream' | 'cache' | 'store' | 'stale' | 'coalesced'
}
