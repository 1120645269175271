import { AggregatorError } from './aggregator-error.js'

/**
 * The upstream has no event with this id (404, or absent from a batch answer). Code
 * `EVENT_NOT_FOUND`. It appears per id in `loadMany` results and as a `missing` entry of a page;
 * it never fails a whole page.
 */
export class EventNotFoundError extends AggregatorError {
  /** The id of the event that was not found. */
  readonly eventId: string

  /**
   * @param eventId - the id that was looked up
   * @param options - the upstream error as `cause`, if any
   */
  constructor(eventId: string, options?: { cause?: unknown }) {
    super('EVENT_NOT_FOUND', `Event ${JSON.stringify(eventId)} was not found`, options)
    this.name = 'EventNotFoundError'
    this.eventId = eventId
  }
}
