import { expectedMessage } from '@userevents/check-kit'
import { MockServerError } from './MockServerError.js'

/**
 * Thrown by a factory when an option has a bad value (the message quotes the value: ``Expected
 * `seed` to be an integer, got "abc"``) or is not an option at all (``Unknown option `dealys`;
 * expected one of …``). The message shapes are the toolkit's, from its one check kit.
 */
export class InvalidMockOptionError extends MockServerError {
  /** The option path, e.g. `delays.getEventById`. */
  readonly option: string
  /** The rejected value. */
  readonly value: unknown

  /**
   * @param expected what the option must be, e.g. `a non-negative integer`.
   * @param message the whole message instead of the ``Expected … got …`` one (an unknown key).
   */
  constructor(option: string, expected: string, value: unknown, message?: string) {
    super('MOCK_INVALID_OPTION', message ?? expectedMessage(option, expected, value))
    this.name = 'InvalidMockOptionError'
    this.option = option
    this.value = value
  }
}

/** Thrown when a data set is inconsistent (duplicate ids, dangling references). */
export class InvalidMockDataError extends MockServerError {
  constructor(message: string) {
    super('MOCK_INVALID_DATA', message)
    this.name = 'InvalidMockDataError'
  }
}
