/**
 * `@userevents/event-aggregator`: a user's events in one upstream round trip — pagination
 * first, a bounded sliding window of upstream calls, per-item cache with coalescing,
 * projection, per-id partial failures, and JSON serializers for Fastify.
 *
 * @packageDocumentation
 */

export { createEventAggregator } from './aggregator.js'
export type {
  AggregatorClient,
  BatchRouteOptions,
  EventAggregator,
  EventAggregatorOptions,
  GetEventsOptions,
  IterateEventsOptions,
} from './aggregator-types.js'
export type { AggregatorErrorCode } from './errors/aggregator-error.js'
export { AggregatorError, isAggregatorError } from './errors/aggregator-error.js'
export type { AggregatorErrorByCode } from './errors/error-by-code.js'
export { isAggregatorErrorCode } from './errors/error-by-code.js'
export { EventNotFoundError } from './errors/event-not-found-error.js'
export { InvalidUpstreamDataError } from './errors/invalid-upstream-data-error.js'
export { UpstreamUnavailableError } from './errors/upstream-unavailable-error.js'
export { UserNotFoundError } from './errors/user-not-found-error.js'
export { AggregatorValidationError } from './errors/validation-error.js'
export type { CacheMap, Clock, LoaderCacheOptions } from './loader/cache.js'
export { createLoader } from './loader/loader.js'
export type { LoadContext, Loader, LoaderOptions, LoadOptions } from './loader/types.js'
export { EVENT_FIELDS, normalizeFields } from './projection.js'
export type { JsonSchema } from './schemas.js'
export {
  eventArrayJsonSchema,
  eventJsonSchema,
  eventPageJsonSchema,
  missingEventJsonSchema,
  projectedEventJsonSchema,
} from './schemas.js'
export type { Serializer } from './serializers.js'
export {
  createEventArraySerializer,
  createPageSerializer,
  serializerEngine,
} from './serializers.js'
export type { Event, EventField, EventPage, MissingEvent, ProjectedEvent, User } from './types.js'
