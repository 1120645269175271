import { AggregatorError } from './aggregator-error.js'

/**
 * The upstream answered 404 for the user: the user does not exist. Code `USER_NOT_FOUND`.
 */
export class UserNotFoundError extends AggregatorError {
  /** The id of the user that was not found. */
  readonly userId: string

  /**
   * @param userId - the id that was looked up
   * @param options - the upstream 404 error as `cause`
   */
  constructor(userId: string, options?: { cause?: unknown }) {
    super('USER_NOT_FOUND', `User ${JSON.stringify(userId)} was not found`, options)
    this.name = 'UserNotFoundError'
    this.userId = userId
  }
}
