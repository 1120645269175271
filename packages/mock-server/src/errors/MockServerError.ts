const BRAND = Symbol.for('@userevents/mock-server/error')

/** The stable codes of the errors this package throws. */
export type MockServerErrorCode = 'MOCK_INVALID_OPTION' | 'MOCK_INVALID_DATA'

/**
 * Base class of every error thrown by `@userevents/mock-server`. Carries a stable `code` and a
 * brand, so {@link isMockServerError} works across duplicate installs of the package.
 */
export class MockServerError extends Error {
  /** A stable, machine-readable code. */
  readonly code: MockServerErrorCode

  constructor(code: MockServerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'MockServerError'
    this.code = code
    Object.defineProperty(this, BRAND, { value: true })
  }
}

/**
 * Tells whether `error` was thrown by this package. Checks the brand, not only `instanceof`,
 * because two copies of the package may be installed side by side.
 */
export function isMockServerError(error: unknown): error is MockServerError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error instanceof MockServerError || (error as Record<symbol, unknown>)[BRAND] === true)
  )
}
