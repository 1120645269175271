/**
 * The largest delay `setTimeout` honours (2^31 - 1 ms, about 24.8 days): Node fires a longer one
 * at once, with a warning, so a duration option above it would turn "wait long" into "don't wait".
 */
export const MAX_TIMER_MS = 2_147_483_647
