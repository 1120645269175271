import { MockServerError } from './MockServerError.js'

/** Thrown by a factory when an option has a bad value; the message quotes the value. */
export class InvalidMockOptionError extends MockServerError {
  /** The option path, e.g. `delays.getEventById`. */
  readonly option: string
  /** The rejected value. */
  readonly value: unknown

  constructor(option: string, expected: string, value: unknown) {
    super('MOCK_INVALID_OPTION', `Expected \`${option}\` to be ${expected}, got ${show(value)}`)
    this.name = 'InvalidMockOptionError'
    this.option = option
    this.value = value
  }
}

/** Thrown when a data set is inconsistent (duplicate ids, dangling references). */
export class InvalidMockDataError extends MockServerError {
  constructor(message: string) {
    super('MOCK_INVALID_DATA', message)
    this.name = 'InvalidMockDataError'
  }
}

/** Private: renders a rejected value for an error message. */
function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}
