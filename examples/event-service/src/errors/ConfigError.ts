/**
 * Thrown by {@link loadConfig} when one or more environment variables are invalid. The message
 * lists every bad variable at once, each quoting the value it got, so an operator fixes them in
 * one pass instead of one restart per mistake.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  /** Stable code, checked by {@link isConfigError} instead of `instanceof`. */
  readonly code = 'CONFIG_INVALID'
  /** One line per invalid variable, e.g. ``PORT must be an integer from 0 to 65535, got "abc"``. */
  readonly problems: readonly string[]

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

/** True when `e` is a {@link ConfigError}, by its code, so that two copies of the module agree. */
export function isConfigError(e: unknown): e is ConfigError {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'CONFIG_INVALID'
}
