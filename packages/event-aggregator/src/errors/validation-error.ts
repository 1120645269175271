import { AggregatorError } from './aggregator-error.js'

/**
 * An argument or option is invalid. Code `INVALID_ARGUMENT`. The message quotes the bad value,
 * and `field`/`value` carry it for programmatic use (e.g. a 400 response body).
 *
 * @example
 * // Expected `limit` to be an integer between 1 and 200, got 500
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
   */
  constructor(field: string, expected: string, value: unknown) {
    super('INVALID_ARGUMENT', `Expected \`${field}\` to be ${expected}, got ${describe(value)}`)
    this.name = 'AggregatorValidationError'
    this.field = field
    this.value = value
  }
}

/** @internal Quotes a value for an error message without throwing on odd inputs. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function' || typeof value === 'symbol') return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
