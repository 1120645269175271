import { createChecks } from '@userevents/check-kit'
import { InvalidOptionError } from './errors/invalid-option-error.js'

export { describe, HEADER_TOKEN, isHeaderToken, MAX_TIMER_MS } from '@userevents/check-kit'

/**
 * @internal The toolkit's check kit (`@userevents/check-kit`, private, bundled at build time),
 * bound to this package's {@link InvalidOptionError}: every option check of the client and its
 * policies throws through it, so messages share one shape and the error class and code stay.
 */
export const checks = createChecks((option, message, value) => {
  throw new InvalidOptionError(option, message, value)
})

/** @internal Throws ``Expected `option` to be <expected>, got <value>`` as `InvalidOptionError`. */
export const fail: (option: string, expected: string, value: unknown) => never = checks.fail

/** @internal Whether `value` is an object with every one of `methods` as a function. */
export function hasMethods(value: unknown, methods: readonly string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    methods.every((m) => typeof (value as Record<string, unknown>)[m] === 'function')
  )
}

/** @internal Validates an injected clock (client and shared breaker options). */
export function validateClock(option: string, clock: unknown): void {
  if (clock !== undefined && !hasMethods(clock, ['now', 'setTimeout', 'clearTimeout'])) {
    fail(option, 'an object with now, setTimeout and clearTimeout', clock)
  }
}
