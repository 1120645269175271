/**
 * A short rendering of a rejected value for an error message: strings quoted, functions and
 * arrays named rather than dumped, objects as JSON cut at 80 characters (an option object can
 * hold a client or a secret; a message is no place for all of it).
 */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const json = JSON.stringify(value)
    return json.length > 80 ? `${json.slice(0, 77)}..."` : json
  }
  if (typeof value === 'bigint') return `${value}n`
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'symbol') return String(value)
  if (value === null || typeof value !== 'object') return String(value)
  if (Array.isArray(value)) return 'an array'
  try {
    const json = JSON.stringify(value)
    if (json === undefined) return 'an object'
    return json.length > 80 ? `${json.slice(0, 77)}...` : json
  } catch {
    // Cycles and throwing getters: the value's shape is all we can say.
    return 'an object'
  }
}

/** The one message shape for a bad value: ``Expected `option` to be …, got …``. */
export function expectedMessage(option: string, expected: string, value: unknown): string {
  return `Expected \`${option}\` to be ${expected}, got ${describe(value)}`
}

/** The one message shape for a key that is not an option: ``Unknown option `x`; expected one of …``. */
export function unknownKeyMessage(option: string, known: readonly string[]): string {
  return `Unknown option \`${option}\`; expected one of ${known.join(', ')}`
}
