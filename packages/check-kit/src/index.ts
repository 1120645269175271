/**
 * The toolkit's one validation kit. Every package checks its options with these functions, so a
 * bad value is described the same way everywhere and an unknown key gets one message shape.
 *
 * It is a private workspace package: each published package bundles it (tsup `noExternal`), so
 * no installed copy can drift from another and nothing here is public API. The kit never throws
 * an error class of its own: a package passes its own (`InvalidOptionError`,
 * `AggregatorValidationError`, …) through {@link createChecks}, which keeps every package's
 * public error classes and codes as they are.
 */

export type { Checks, FailFn } from './checks.js'
export { createChecks, findUnknownKey } from './checks.js'
export { describe, expectedMessage, unknownKeyMessage } from './describe.js'
export { HEADER_TOKEN, isHeaderToken } from './header.js'
export { MAX_TIMER_MS } from './timer.js'
