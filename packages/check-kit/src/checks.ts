import { expectedMessage, unknownKeyMessage } from './describe.js'
import { isHeaderToken } from './header.js'
import { MAX_TIMER_MS } from './timer.js'

/**
 * How a package reports a bad option: it throws its own public error class, built from the
 * option's name, the finished message and the value. Must not return.
 */
export type FailFn = (option: string, message: string, value: unknown) => never

/** The checks bound to one package's error class; see {@link createChecks}. */
export interface Checks {
  /** Throws ``Expected `option` to be <expected>, got <value>``. */
  fail(option: string, expected: string, value: unknown): never
  /** Throws ``Unknown option `<prefix><key>`; expected one of …`` for the first unknown key. */
  rejectUnknown(prefix: string, value: object, known: readonly string[]): void
  /** A safe integer > 0, or `fallback` when undefined. */
  positiveInteger(option: string, value: unknown, fallback: number): number
  /** A safe integer ≥ 0, or `fallback` when undefined. */
  nonNegativeInteger(option: string, value: unknown, fallback: number): number
  /** A safe integer in `[min, max]`, or `fallback` when undefined. */
  integerBetween(option: string, value: unknown, min: number, max: number, fallback: number): number
  /** A finite number ≥ 0, or `fallback` when undefined. */
  nonNegativeNumber(option: string, value: unknown, fallback: number): number
  /** A number > 0 (finite unless `allowInfinity`), or `fallback` when undefined. */
  positiveNumber(option: string, value: unknown, fallback: number, allowInfinity?: boolean): number
  /** A duration a timer can wait: a number in `(0, MAX_TIMER_MS]`, or `fallback` when undefined. */
  timerDelay(option: string, value: unknown, fallback: number): number
  /** A duration a timer can wait, 0 allowed: an integer in `[0, MAX_TIMER_MS]`. */
  timerMs(option: string, value: unknown, fallback: number): number
  /** A header name (RFC 9110 token), or `fallback` when undefined. */
  headerName(option: string, value: unknown, fallback: string): string
}

/**
 * Binds the kit's checks to a package's own error: every check throws through `failWith`, so a
 * package keeps its public error class and code while the messages share one shape.
 *
 * @example
 * const checks = createChecks((option, message, value) => {
 *   throw new InvalidOptionError(option, message, value)
 * })
 * checks.positiveInteger('retry.retries', -1, 2) // throws: Expected `retry.retries` to be a positive integer, got -1
 */
export function createChecks(failWith: FailFn): Checks {
  const fail = (option: string, expected: string, value: unknown): never =>
    failWith(option, expectedMessage(option, expected, value), value)
  const integer = (option: string, value: unknown, ok: (n: number) => boolean, what: string) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || !ok(value)) {
      fail(option, what, value)
    }
    return value as number
  }
  return {
    fail,
    rejectUnknown(prefix, value, known) {
      const key = findUnknownKey(value, known)
      if (key !== undefined) {
        const option = `${prefix}${key}`
        failWith(option, unknownKeyMessage(option, known), (value as Record<string, unknown>)[key])
      }
    },
    positiveInteger: (option, value, fallback) =>
      value === undefined ? fallback : integer(option, value, (n) => n > 0, 'a positive integer'),
    nonNegativeInteger: (option, value, fallback) =>
      value === undefined
        ? fallback
        : integer(option, value, (n) => n >= 0, 'a non-negative integer'),
    integerBetween: (option, value, min, max, fallback) =>
      value === undefined
        ? fallback
        : integer(
            option,
            value,
            (n) => n >= min && n <= max,
            `an integer between ${min} and ${max}`,
          ),
    nonNegativeNumber(option, value, fallback) {
      if (value === undefined) return fallback
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        fail(option, 'a non-negative number', value)
      }
      return value as number
    },
    positiveNumber(option, value, fallback, allowInfinity = false) {
      if (value === undefined) return fallback
      const ok =
        typeof value === 'number' &&
        value > 0 &&
        (Number.isFinite(value) || (allowInfinity && value === Number.POSITIVE_INFINITY))
      if (!ok)
        fail(option, allowInfinity ? 'a positive number or Infinity' : 'a positive number', value)
      return value as number
    },
    timerDelay(option, value, fallback) {
      if (value === undefined) return fallback
      if (typeof value !== 'number' || !(value > 0) || value > MAX_TIMER_MS) {
        fail(option, `a positive number up to ${MAX_TIMER_MS}`, value)
      }
      return value as number
    },
    timerMs: (option, value, fallback) =>
      value === undefined
        ? fallback
        : integer(
            option,
            value,
            (n) => n >= 0 && n <= MAX_TIMER_MS,
            `an integer number of milliseconds from 0 to ${MAX_TIMER_MS}`,
          ),
    headerName(option, value, fallback) {
      if (value === undefined) return fallback
      if (!isHeaderToken(value)) fail(option, 'a header name', value)
      return value as string
    },
  }
}

/** The first own key of `value` that is not in `known`, or undefined. */
export function findUnknownKey(value: object, known: readonly string[]): string | undefined {
  for (const key of Object.keys(value)) if (!known.includes(key)) return key
  return undefined
}
