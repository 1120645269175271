import { describe, expectedMessage } from '@userevents/check-kit'

/** Stable codes of the errors this package throws. */
export type UserEventsFastifyErrorCode =
  | 'FASTIFY_USEREVENTS_INVALID_OPTION'
  | 'INVALID_INPUT'
  | 'DEADLINE_EXCEEDED'

/**
 * A global brand (`Symbol.for`), so {@link isUserEventsFastifyError} recognises errors of another
 * installed copy of this package, where `instanceof` would fail.
 */
const BRAND = Symbol.for('@userevents/fastify/error')

/** Base class of every error this package throws; `code` is stable between versions. */
export class UserEventsFastifyError extends Error {
  /** Stable, machine-readable code. */
  readonly code: UserEventsFastifyErrorCode

  /** @internal Brand checked by {@link isUserEventsFastifyError}. */
  readonly [BRAND] = true

  /**
   * @param code - the stable code
   * @param message - names the bad value
   */
  constructor(code: UserEventsFastifyErrorCode, message: string) {
    super(message)
    this.name = 'UserEventsFastifyError'
    this.code = code
  }
}

/** True for any error thrown by this package (any installed copy of it). */
export function isUserEventsFastifyError(error: unknown): error is UserEventsFastifyError {
  return (
    typeof error === 'object' && error !== null && (error as { [BRAND]?: unknown })[BRAND] === true
  )
}

/**
 * A plugin or route-helper option is invalid; thrown at registration, before any I/O.
 * Code `FASTIFY_USEREVENTS_INVALID_OPTION`.
 *
 * @example
 * // Expected `pageRoute.maxLimit` to be a positive integer, got 0
 * // Unknown option `errorHandle`; expected one of client, aggregator, errorHandler, deadline, prefix, logLevel, logSerializers
 */
export class InvalidPluginOptionError extends UserEventsFastifyError {
  /** The option's name, e.g. `client`. */
  readonly option: string
  /** The value that was given. */
  readonly value: unknown

  /**
   * @param option - the option's name
   * @param expected - what it should have been
   * @param value - what was given
   * @param message - the whole message, when it is not the ``Expected `option` to be …`` shape
   * built from `expected` (an unknown option key: ``Unknown option `x`; expected one of …``)
   */
  constructor(
    option: string,
    expected: string,
    value: unknown,
    message = expectedMessage(option, expected, value),
  ) {
    super('FASTIFY_USEREVENTS_INVALID_OPTION', message)
    this.name = 'InvalidPluginOptionError'
    this.option = option
    this.value = value
  }
}

/**
 * A query parameter of a paged route is invalid (a caller error, answered 400 before any
 * upstream call). Code `INVALID_INPUT`; `statusCode` is 400 so Fastify's own error handler
 * answers 400 as well.
 *
 * @example
 * // querystring.limit must be an integer written in digits, got "0x10"
 */
export class InvalidQueryError extends UserEventsFastifyError {
  /** Always 400. */
  readonly statusCode = 400
  /** The query parameter, e.g. `limit`. */
  readonly field: string
  /** The value as received. */
  readonly value: unknown

  /**
   * @param field - the query parameter
   * @param rule - what it must be, e.g. `must be <= 200`
   * @param value - what was received
   */
  constructor(field: string, rule: string, value: unknown) {
    super('INVALID_INPUT', `querystring.${field} ${rule}, got ${describe(value)}`)
    this.name = 'InvalidQueryError'
    this.field = field
    this.value = value
  }
}

/**
 * The request arrived with less time left (its `x-request-timeout-ms`) than the plugin's
 * `deadline.minDeadlineMs`: it is answered 504 at once, without calling the upstream, since no
 * answer could reach the caller in time. Code `DEADLINE_EXCEEDED`; `statusCode` is 504 so
 * Fastify's own error handler answers 504 as well.
 */
export class DeadlineExceededError extends UserEventsFastifyError {
  /** Always 504. */
  readonly statusCode = 504
  /** The caller's remaining time as received, in ms. */
  readonly remainingMs: number

  /**
   * @param header - the header's name
   * @param remainingMs - its value
   * @param minDeadlineMs - the least the plugin serves
   */
  constructor(header: string, remainingMs: number, minDeadlineMs: number) {
    super(
      'DEADLINE_EXCEEDED',
      `The request's deadline (${header}: ${remainingMs}) leaves less than ${minDeadlineMs} ms; not served`,
    )
    this.name = 'DeadlineExceededError'
    this.remainingMs = remainingMs
  }
}
