/**
 * The upstream answered 2xx with JSON of the wrong shape (e.g. a user without `email`). It carries
 * the client's `UPSTREAM_INVALID_BODY` code, so `mapError` answers 502: the upstream is at fault,
 * and without this check the response serializer would throw and the service would answer 500.
 */
export class UpstreamShapeError extends Error {
  override readonly name = 'UpstreamShapeError'
  /** Same code as the upstream client's `InvalidBodyError`, so both map to one answer. */
  readonly code = 'UPSTREAM_INVALID_BODY'

  constructor(path: string, detail: string) {
    super(`GET ${path}: the event API answered an unexpected body (${detail})`)
  }
}
