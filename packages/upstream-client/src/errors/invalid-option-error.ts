import { UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * An option passed to `createUpstreamClient` (or a call) is invalid. Thrown synchronously; the
 * message names the option and quotes the bad value.
 *
 * @example
 * // Expected `retry.retries` to be a non-negative integer, got -1
 */
export class InvalidOptionError extends UpstreamError {
  /** Always `UPSTREAM_INVALID_OPTION`. */
  readonly code = UpstreamErrorCode.InvalidOption
  /** Dotted path of the offending option, e.g. `retry.retries`. */
  readonly option: string
  /** The rejected value. */
  readonly value: unknown

  constructor(option: string, message: string, value: unknown) {
    super(message, { method: '', url: '', attempts: 0 })
    this.name = 'InvalidOptionError'
    this.option = option
    this.value = value
  }
}
