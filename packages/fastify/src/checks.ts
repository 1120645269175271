import { createChecks } from '@userevents/check-kit'
import { InvalidPluginOptionError } from './errors/plugin-error.js'

/**
 * @internal The toolkit's check kit, throwing this package's {@link InvalidPluginOptionError}:
 * the messages share the toolkit's shapes while the error class and code stay this package's.
 */
export const checks = createChecks((option, message, value) => {
  throw new InvalidPluginOptionError(option, '', value, message)
})
