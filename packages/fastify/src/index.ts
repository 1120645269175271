/**
 * `@userevents/fastify`: the userevents toolkit as a Fastify 5 plugin — the upstream client and
 * the event aggregator as decorators, `request.id` and a caller-gone signal on every upstream
 * call, paged event routes with a strict query, and one error-to-HTTP mapping for both packages.
 *
 * @packageDocumentation
 */

export { callerGoneSignal } from './caller-gone.js'
export type { UserEventsFastifyErrorCode } from './errors/plugin-error.js'
export {
  DeadlineExceededError,
  InvalidPluginOptionError,
  InvalidQueryError,
  isUserEventsFastifyError,
  UserEventsFastifyError,
} from './errors/plugin-error.js'
export type {
  FrameworkErrorHandler,
  FrameworkErrorHandlerOptions,
} from './framework-errors.js'
export { frameworkErrorHandler } from './framework-errors.js'
export type { PageQuery, PageQueryLimits, RawPageQuery } from './page-query.js'
export { pageQuerySchema, parsePageQuery } from './page-query.js'
export type { EventPageRouteOptions } from './page-route.js'
export { registerEventPageRoute } from './page-route.js'
export type {
  DeadlineOptions,
  ErrorHandlerOptions,
  UpstreamCallContext,
  UserEventsPluginOptions,
} from './plugin.js'
export { userEvents } from './plugin.js'
export type {
  HttpProblem,
  HttpProblemOptions,
  JsonErrorBody,
  ProblemDetailsBody,
  ProblemLogLevel,
} from './problem.js'
export { DEFAULT_RETRY_AFTER_SECONDS, toHttpProblem } from './problem.js'
