/**
 * `@userevents/upstream-client`: a typed, resilient JSON client over undici with keep-alive
 * pools, deadlines, retries, an absolute-count circuit breaker, a GET cache with in-flight
 * coalescing, typed errors and hooks.
 *
 * @packageDocumentation
 */

export type { PathValue, Query, QueryValue } from './call-input.js'
export { path } from './call-input.js'
export { createUpstreamClient } from './client.js'
export type {
  CallOptions,
  ResponseCacheInfo,
  UpstreamClient,
  WriteOptions,
} from './client-types.js'
export type { Clock } from './clock.js'
export { systemClock } from './clock.js'
export { UpstreamAbortError } from './errors/abort-error.js'
export { BodyTooLargeError } from './errors/body-too-large-error.js'
export type { UpstreamErrorByCode } from './errors/by-code.js'
export { isUpstreamErrorCode } from './errors/by-code.js'
export { CircuitOpenError } from './errors/circuit-open-error.js'
export { UpstreamClientClosedError } from './errors/client-closed-error.js'
export { ConcurrencyLimitError } from './errors/concurrency-limit-error.js'
export { UpstreamHttpError } from './errors/http-error.js'
export { InvalidBodyError } from './errors/invalid-body-error.js'
export { InvalidOptionError } from './errors/invalid-option-error.js'
export { UpstreamNetworkError } from './errors/network-error.js'
export { UpstreamRateLimitedError } from './errors/rate-limited-error.js'
export { UpstreamTimeoutError } from './errors/timeout-error.js'
export type { UpstreamErrorInit } from './errors/upstream-error.js'
export { isUpstreamError, UpstreamError, UpstreamErrorCode } from './errors/upstream-error.js'
export type {
  AttemptErrorEvent,
  BudgetExhaustedEvent,
  CacheHitEvent,
  CacheMissEvent,
  CacheNotStoredEvent,
  CallEndEvent,
  CallOutcome,
  CallState,
  CircuitState,
  CoalescedEvent,
  HedgeEvent,
  LimitChangeEvent,
  RampChangeEvent,
  RampPhase,
  RequestEvent,
  ResponseEvent,
  RetryEvent,
  StateChangeEvent,
} from './hooks.js'
export type { Logger } from './logging.js'
export type { UpstreamClientOptions } from './options.js'
export { defaults } from './options.js'
export type { AttemptState, UpstreamStep } from './pipeline.js'
export type { AdaptiveLimitOptions } from './policies/adaptive-limit.js'
export type { BreakerOptions } from './policies/breaker/options.js'
export { defaultIsFailure } from './policies/breaker/options.js'
export type { CircuitBreaker, CircuitBreakerOptions } from './policies/breaker/shared.js'
export { createCircuitBreaker } from './policies/breaker/shared.js'
export type {
  BreakerStateStore,
  BreakerStoreEvent,
  FleetCircuit,
  FleetCircuitState,
  FleetOutcome,
  FleetPermit,
  FleetRule,
  FleetView,
} from './policies/breaker/state-store.js'
export { breakerStateStoreKind, isBreakerStateStore } from './policies/breaker/state-store.js'
export type { CacheOptions } from './policies/cache.js'
export type { HedgeOptions } from './policies/hedge.js'
export type { RateLimitOptions } from './policies/rate-limit.js'
export type { RetryBudgetOptions } from './policies/retry/budget.js'
export type { RetryOptions } from './policies/retry/retry.js'
export type {
  RateLimitStore,
  RateLimitTakeOptions,
  RateLimitTakeResult,
} from './rate-limit-store.js'
export { isRateLimitStore, rateLimitStoreKind } from './rate-limit-store.js'
export type {
  SharedFetch,
  SharedFetchResult,
  SharedLoadOptions,
  SharedLoadResult,
  SharedLoadV2Options,
  SharedLoadV2Result,
  SharedSetOptions,
  SharedStaleEntry,
  SharedStore,
  SharedStoreV1,
} from './shared-store.js'
export {
  isSharedStore,
  sharedStoreKind,
  sharedStoreV2Kind,
  toSharedStore,
} from './shared-store.js'
export { diagnosticsChannels } from './telemetry/channels.js'
export type { TelemetryOptions } from './telemetry/options.js'
export { hasTraceparent } from './telemetry/undici.js'
