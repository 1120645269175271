import { InvalidOptionError } from './errors/invalid-option-error.js'

/**
 * @internal Throws an {@link InvalidOptionError} with the standard message. Kept apart from the
 * options module so that policy modules can validate their own options without importing it
 * (which imports them).
 */
export function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(
    option,
    `Expected \`${option}\` to be ${expected}, got ${describe(value)}`,
    value,
  )
}

/** Private: a short rendering of a rejected value for an error message. */
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
