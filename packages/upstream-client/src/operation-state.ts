import type { CircuitState } from './hooks.js'

// Foundations: what one policy may read of another policy's per-operation state, as interfaces
// the client wires up, so that no policy imports another (the hedge reads the breaker's state and
// takes from the retry budget through these).

/** @internal Reads the state of the breaker that guards an operation (`closed` when none). */
export interface CircuitStateReader {
  stateOf(operation: string): CircuitState
}

/** @internal Takes one extra request of an operation from a budget; false when it is spent. */
export interface RetryAllowance {
  tryRetry(operation: string): boolean
}
