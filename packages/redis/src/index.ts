/**
 * `@userevents/redis`: fleet mode for the userevents toolkit. A shared cache tier and fleet-wide
 * single-flight on Redis, behind the in-process caches of `@userevents/upstream-client` and
 * `@userevents/event-aggregator`, with a local circuit around Redis so that Redis being down or
 * slow degrades a replica to local mode instead of taking it down; and the fleet-wide circuit
 * breaker state (`createRedisBreakerStore`) behind the client's per-operation breakers.
 *
 * @packageDocumentation
 */

export type {
  RedisBreakerStore,
  RedisBreakerStoreOptions,
} from './breaker-store.js'
export { breakerStoreDefaults, createRedisBreakerStore } from './breaker-store.js'
export type { RedisClient } from './clients.js'
export type {
  RedisConnection,
  RedisConnectionOptions,
  RedisReadyOptions,
  RedisScript,
} from './connection.js'
export { connectionDefaults, createRedisConnection } from './connection.js'
export type { FleetMode, FleetModeChange, RedisBreakerOptions } from './guard.js'
export { breakerDefaults } from './guard.js'
export { keyPrefix } from './keys.js'
export type {
  RedisRateLimitStore,
  RedisRateLimitStoreOptions,
} from './rate-limit-store.js'
export { createRedisRateLimitStore } from './rate-limit-store.js'
export type { RedisStore, RedisStoreOptions, RedisStoreStats } from './store.js'
export { createRedisStore, storeDefaults } from './store.js'
