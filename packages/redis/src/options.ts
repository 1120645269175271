import { createChecks } from '@userevents/check-kit'
import { InvalidOptionError } from '@userevents/upstream-client'

/**
 * @internal The toolkit's one validation kit (`@userevents/check-kit`, bundled at build time),
 * throwing the client's `InvalidOptionError` (code `UPSTREAM_INVALID_OPTION`), so one guard,
 * `isUpstreamErrorCode(e, 'UPSTREAM_INVALID_OPTION')`, covers every option mistake of the toolkit.
 */
const checks = createChecks((option, message, value) => {
  throw new InvalidOptionError(option, message, value)
})

/** @internal Throws ``Expected `option` to be <expected>, got <value>``. */
export const fail: (option: string, expected: string, value: unknown) => never = checks.fail

/** @internal Rejects keys that are not options (typos would otherwise be ignored). */
export const rejectUnknown: (prefix: string, value: object, known: readonly string[]) => void =
  checks.rejectUnknown

/** @internal A positive integer, or the fallback when undefined. */
export const positiveInteger: (option: string, value: unknown, fallback: number) => number =
  checks.positiveInteger

/** @internal A non-negative finite number, or the fallback when undefined. */
export const nonNegative: (option: string, value: unknown, fallback: number) => number =
  checks.nonNegativeNumber

/**
 * @internal A positive finite number, or the fallback when undefined. Durations that become
 * timers use {@link positiveDelay}.
 */
export function positive(option: string, value: unknown, fallback: number): number {
  return checks.positiveNumber(option, value, fallback)
}

/** @internal A duration a timer can wait (`(0, MAX_TIMER_MS]`), or the fallback when undefined. */
export const positiveDelay: (option: string, value: unknown, fallback: number) => number =
  checks.timerDelay
