import { attemptsSuffix, UpstreamError, UpstreamErrorCode } from './upstream-error.js'

/**
 * A call made after `close()`. The upstream was never asked: this is a mistake in the code
 * calling the client (a shutdown ordering bug), not an upstream condition, so it has its own code
 * rather than `UPSTREAM_NETWORK`, and `toHttpProblem` of `@userevents/fastify` answers 500, never
 * a 503 that would page the on-call as an upstream incident. `cause` keeps `code:
 * 'UPSTREAM_CLIENT_CLOSED'` for code that matched the cause before this class existed.
 *
 * @example
 * ```ts
 * import { isUpstreamErrorCode } from '@userevents/upstream-client'
 * declare const err: unknown
 * if (isUpstreamErrorCode(err, 'UPSTREAM_CLIENT_CLOSED')) console.error('called after close()')
 * ```
 */
export class UpstreamClientClosedError extends UpstreamError {
  /** Always `UPSTREAM_CLIENT_CLOSED`. */
  readonly code = UpstreamErrorCode.ClientClosed

  constructor(init: { method: string; url: string }) {
    super(`${init.method} ${init.url}: the client has been closed ${attemptsSuffix(0)}`, {
      ...init,
      attempts: 0,
      cause: Object.assign(new Error('The client has been closed'), {
        code: 'UPSTREAM_CLIENT_CLOSED',
      }),
    })
    this.name = 'UpstreamClientClosedError'
  }
}
