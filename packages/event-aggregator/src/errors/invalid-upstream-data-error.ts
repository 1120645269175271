import { AggregatorError } from './aggregator-error.js'

/**
 * The upstream answered 2xx with JSON of the wrong shape (e.g. a user without an `events`
 * array, or an event without a string `id`). Code `UPSTREAM_INVALID_DATA`.
 */
export class InvalidUpstreamDataError extends AggregatorError {
  /**
   * @param message - what was wrong, naming the path and the bad value
   */
  constructor(message: string) {
    super('UPSTREAM_INVALID_DATA', message)
    this.name = 'InvalidUpstreamDataError'
  }
}
