import { AggregatorValidationError } from './errors/validation-error.js'

/** @internal Throws unless `value` is an integer in `[min, max]`. Returns it narrowed. */
export function integerInRange(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range =
      max === Number.MAX_SAFE_INTEGER
        ? `an integer >= ${min}`
        : `an integer between ${min} and ${max}`
    throw new AggregatorValidationError(field, range, value)
  }
  return value
}

/** @internal Throws unless `value` is a finite number > 0. */
export function positiveNumber(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new AggregatorValidationError(field, 'a finite number > 0', value)
  }
  return value
}

/** @internal Throws unless `value` is a non-empty string. */
export function nonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new AggregatorValidationError(field, 'a non-empty string', value)
  }
  return value
}

/** @internal Throws unless `value` is a plain object or undefined. */
export function optionalObject(field: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new AggregatorValidationError(field, 'an object', value)
  }
  return value as Record<string, unknown>
}
