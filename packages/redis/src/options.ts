import { InvalidOptionError } from '@userevents/upstream-client'

/**
 * @internal Throws the client's `InvalidOptionError` (code `UPSTREAM_INVALID_OPTION`), so one
 * guard, `isUpstreamErrorCode(e, 'UPSTREAM_INVALID_OPTION')`, covers every option mistake of the
 * toolkit.
 */
export function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(
    option,
    `Expected \`${option}\` to be ${expected}, got ${describe(value)}`,
    value,
  )
}

/** @internal A positive finite number, or the fallback when undefined. */
export function positive(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(option, 'a positive number', value)
  }
  return value
}

/** @internal A non-negative finite number, or the fallback when undefined. */
export function nonNegative(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    fail(option, 'a non-negative number', value)
  }
  return value
}

/** @internal A positive integer, or the fallback when undefined. */
export function positiveInteger(option: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    fail(option, 'a positive integer', value)
  }
  return value
}

/** @internal Rejects keys that are not options (typos would otherwise be ignored). */
export function rejectUnknown(prefix: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new InvalidOptionError(
        `${prefix}${key}`,
        `Unknown option \`${prefix}${key}\`; expected one of ${known.join(', ')}`,
        (value as Record<string, unknown>)[key],
      )
    }
  }
}

// Private helpers below.

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'function') return 'a function'
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  try {
    const json = JSON.stringify(value)
    return json.length > 80 ? `${json.slice(0, 77)}...` : json
  } catch {
    return 'an object'
  }
}
