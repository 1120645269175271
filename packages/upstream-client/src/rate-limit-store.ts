/**
 * The contract between the client's `rateLimit` policy and a token bucket shared by every replica
 * of a service (one quota for the fleet, e.g. Redis in `@userevents/redis`). Only the interface
 * and its brand live here, so the client depends on no store implementation.
 */

/**
 * The brand every {@link RateLimitStore} carries in its `kind` field (a string, so two installed
 * copies of this package agree; the suffix versions the contract).
 */
export const rateLimitStoreKind = 'userevents.rate-limit-store.v1'

/** The bucket's shape for one {@link RateLimitStore.take}: sent each time, so a learned rate applies fleet-wide. */
export interface RateLimitTakeOptions {
  /** Tokens added per second (the quota's rate). */
  ratePerSecond: number
  /** Most tokens the bucket holds (the largest burst). */
  burst: number
  /** The longest the caller can wait for its token, in ms; a longer wait is refused, not reserved. */
  maxWaitMs: number
}

/**
 * The outcome of one take: `waitMs` 0 means go now; a positive `waitMs` means a token is
 * reserved for the caller `waitMs` from now; `granted: false` means no token within
 * `maxWaitMs`, none was reserved, and one is expected in `waitMs`.
 */
export interface RateLimitTakeResult {
  granted: boolean
  waitMs: number
}

/**
 * A token bucket shared by every replica. Pass one as `rateLimit.store` of
 * `createUpstreamClient`. Implementations must degrade, never fail: when the store is down or
 * slow, `take` resolves `undefined` (or rejects) and the client falls back to its local bucket;
 * `pause` resolves anyway.
 *
 * @example
 * import { createUpstreamClient } from '@userevents/upstream-client'
 * import { createRedisRateLimitStore } from '@userevents/redis'
 * const store = createRedisRateLimitStore({ connection: { url: 'redis://127.0.0.1:6379' }, namespace: 'event-service' })
 * const client = createUpstreamClient({ baseUrl: 'http://event.com', rateLimit: { requestsPerSecond: 100, store } })
 */
export interface RateLimitStore {
  /** The brand, always {@link rateLimitStoreKind}; see {@link isRateLimitStore}. */
  readonly kind: typeof rateLimitStoreKind
  /** Takes (or reserves) one token of `bucket`; `undefined` when the store cannot answer. */
  take(bucket: string, options: RateLimitTakeOptions): Promise<RateLimitTakeResult | undefined>
  /** Empties `bucket` for `ms` (a 429 with `Retry-After`, a spent quota announced by headers). */
  pause(bucket: string, ms: number, options: RateLimitTakeOptions): Promise<void>
}

/**
 * True when `value` is a {@link RateLimitStore} (from any installed copy of this package): checks
 * the `kind` brand and the methods, not `instanceof`.
 */
export function isRateLimitStore(value: unknown): value is RateLimitStore {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === rateLimitStoreKind &&
    typeof (value as { take?: unknown }).take === 'function' &&
    typeof (value as { pause?: unknown }).pause === 'function'
  )
}
