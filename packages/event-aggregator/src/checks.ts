import { createChecks } from '@userevents/check-kit'
import { AggregatorValidationError } from './errors/validation-error.js'

/**
 * @internal The toolkit's check kit, throwing this package's {@link AggregatorValidationError}:
 * the messages share the toolkit's shapes while the error class and code stay this package's.
 */
export const checks = createChecks((option, message, value) => {
  throw new AggregatorValidationError(option, '', value, message)
})
