import { expectedMessage } from '@userevents/check-kit'
import { AggregatorError } from './aggregator-error.js'

/**
 * An argument or option is invalid. Code `INVALID_ARGUMENT`. The message quotes the bad value,
 * and `field`/`value` carry it for programmatic use (e.g. a 400 response body).
 *
 * @example
 * // Expected `limit` to be an integer between 1 and 200, got 500
 * // Unknown option `cache.ttl`; expected one of ttlMs, max
 */
export class AggregatorValidationError extends AggregatorError {
  /** The name of the argument or option, e.g. `limit`, `fields`, `cache.ttlMs`. */
  readonly field: string
  /** The rejected value, as given. */
  readonly value: unknown

  /**
   * @param field - the name of the argument or option
   * @param expected - what was expected, e.g. "a non-negative integer"
   * @param value - the rejected value
   * @param message - the whole message, when it is not the ``Expected `field` to be …`` shape
   * built from `expected` (an unknown option key: ``Unknown option `x`; expected one of …``)
   */
  constructor(
    field: string,
    expected: string,
    value: unknown,
    message = expectedMessage(field, expected, value),
  ) {
    super('INVALID_ARGUMENT', message)
    this.name = 'AggregatorValidationError'
    this.field = field
    this.value = value
  }
}
