import { createChecks } from '@userevents/check-kit'
import { InvalidMockOptionError } from './errors/InvalidMockOptionError.js'

/**
 * Internal: the toolkit's check kit bound to the mock's own error, so option messages have the
 * toolkit's one shape while the public class (`InvalidMockOptionError`, code
 * `MOCK_INVALID_OPTION`) stays the mock's. The kit is bundled at build time (tsup `noExternal`).
 */
export const checks = createChecks((option, message, value) => {
  throw new InvalidMockOptionError(option, '', value, message)
})
