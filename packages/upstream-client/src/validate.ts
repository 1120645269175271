import { expectedMessage } from '@userevents/check-kit'
import { InvalidOptionError } from './errors/invalid-option-error.js'

/**
 * @internal Throws an {@link InvalidOptionError} with the toolkit's one message shape (the
 * private check kit, bundled at build time). Kept apart from the options module so that policy
 * modules can validate their own options without importing it (which imports them).
 */
export function fail(option: string, expected: string, value: unknown): never {
  throw new InvalidOptionError(option, expectedMessage(option, expected, value), value)
}
