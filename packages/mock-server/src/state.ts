import type { CapacityGate, ResolvedBrownout } from './brownout.js'
import type { QuotaBucket } from './core/overlays/quota.js'
import type { TailOverlay } from './core/overlays/tail.js'
import type { RouteCounters } from './counters.js'
import type { ResolvedOptions } from './options.js'
import type { Random } from './prng.js'
import type { RequestRecorder } from './recorder.js'
import type { WritableStore } from './store.js'
import type { MockMode } from './types.js'

/**
 * Internal: the mutable state of one mock instance, shared by its handlers and its API object.
 * Nothing here is module-level, so instances never interfere.
 */
export interface MockState {
  readonly options: ResolvedOptions
  readonly counters: RouteCounters
  readonly recorder: RequestRecorder
  readonly store: WritableStore
  readonly random: Random
  mode: MockMode
  /** The current brownout settings (initially the `brownout` option). */
  brownout: ResolvedBrownout
  /** The capacity queue of the brownout mode. */
  readonly gate: CapacityGate
  /** The quota overlay's bucket, when a quota is set. */
  quota: QuotaBucket | undefined
  /** The tail overlay (a seeded share of answers delayed), on top of any mode. */
  readonly tail: TailOverlay
  /** Requests of `addEvent` seen in the current failure cycle run, for the 5-then-10 pattern. */
  addEventSeq: number
}
