import { checks, fail } from '../../checks.js'
import type { Clock } from '../../clock.js'
import { OperationMap } from '../../operation-map.js'
import type { Attempt, Step } from '../../pipeline.js'

/**
 * Retry budget options (`retry.budget`); `retry.budget: false` turns the budget off. Retries of
 * one operation are allowed while they stay under `ratio` of that operation's calls sent in the
 * last `windowMs`, or under the floor of `minRetriesPerSecond × windowMs / 1000` retries when that
 * is larger (so that a quiet operation can still retry).
 */
export interface RetryBudgetOptions {
  /** Retries allowed per call sent in the window, from 0 to 1. Default 0.2. */
  ratio?: number
  /** Length of the sliding window, in ms. Default 10 000. */
  windowMs?: number
  /** Retries per second allowed whatever the traffic (the floor). Default 1. */
  minRetriesPerSecond?: number
}

/** @internal Resolved budget options. */
export type ResolvedRetryBudget = Required<RetryBudgetOptions>

/** @internal Defaults of `retry.budget`, as Finagle's (20 % over 10 s) with a lower floor. */
export const retryBudgetDefaults: Readonly<ResolvedRetryBudget> = Object.freeze({
  ratio: 0.2,
  windowMs: 10_000,
  minRetriesPerSecond: 1,
})

const KEYS = ['ratio', 'windowMs', 'minRetriesPerSecond']

/**
 * @internal Validates `retry.budget` and fills in defaults; `false` turns the budget off.
 * Throws `InvalidOptionError` naming the option and quoting the value.
 */
export function resolveRetryBudget(value: unknown): ResolvedRetryBudget | false {
  if (value === false) return false
  if (value === undefined || value === true) return { ...retryBudgetDefaults }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('retry.budget', 'an object or false', value)
  }
  checks.rejectUnknown('retry.budget.', value, KEYS)
  const v = value as RetryBudgetOptions
  const d = retryBudgetDefaults
  const ratio = v.ratio ?? d.ratio
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio <= 1)) {
    fail('retry.budget.ratio', 'a number from 0 to 1', ratio)
  }
  const windowMs = v.windowMs ?? d.windowMs
  if (typeof windowMs !== 'number' || !Number.isFinite(windowMs) || windowMs < 10) {
    fail('retry.budget.windowMs', 'a finite number >= 10', windowMs)
  }
  const floor = v.minRetriesPerSecond ?? d.minRetriesPerSecond
  if (typeof floor !== 'number' || !Number.isFinite(floor) || floor < 0) {
    fail('retry.budget.minRetriesPerSecond', 'a finite number >= 0', floor)
  }
  return { ratio, windowMs, minRetriesPerSecond: floor }
}

/**
 * @internal The budget's counting step (per attempt), placed below the breakers: a call counts
 * toward its operation's budget only when its first attempt is really sent, not when an open
 * circuit or a concurrency limit refused it.
 */
export function budgetRecordStep(budget: RetryBudget): Step<Attempt> {
  return {
    name: 'retry-budget',
    run: (attempt, next) => {
      if (attempt.number === 1) budget.recordCall(attempt.call.operation)
      return next(attempt)
    },
  }
}

/** What a budget decision saw, reported with a refusal. */
export interface RetryBudgetSnapshot {
  /** Calls of the operation sent upstream (first attempts) in the window. */
  calls: number
  /** Retries of the operation taken from the budget in the window. */
  retries: number
  /** Retries the window allows: max(ratio × calls, floor). */
  allowed: number
}

/** Buckets per window: the window slides in steps of a tenth of its length. */
const BUCKETS = 10

/** Private: the sliding window of one operation. */
interface Window {
  /** Bucket number (time / bucket length) each slot currently holds. */
  epochs: number[]
  calls: number[]
  retries: number[]
}

/**
 * @internal Retry-budget policy, per operation (Finagle's `RetryBudget`, Envoy's
 * `retry_budget`): fixed retry counts multiply the load on a failing upstream (with 2 retries and
 * half the calls failing, each call costs 1.76 upstream requests), a budget bounds it.
 *
 * Calls are counted when their first attempt is actually sent (not when the cache, an open
 * circuit or a concurrency limit answered them), so the bound is on what the upstream sees:
 * upstream requests per call stay under `1 + ratio` once traffic is above the floor. Counts
 * live in a ring of ten buckets per operation, read through the injected clock; a retry refused
 * here leaves the caller with the real error of its last attempt at once.
 */
export class RetryBudget {
  readonly #options: ResolvedRetryBudget
  readonly #clock: Clock
  readonly #bucketMs: number
  readonly #floor: number
  readonly #windows: OperationMap<Window>

  constructor(options: ResolvedRetryBudget, clock: Clock, maxOperations = 100) {
    this.#options = options
    this.#clock = clock
    this.#windows = new OperationMap(maxOperations, () => ({
      epochs: new Array<number>(BUCKETS).fill(-1),
      calls: new Array<number>(BUCKETS).fill(0),
      retries: new Array<number>(BUCKETS).fill(0),
    }))
    this.#bucketMs = options.windowMs / BUCKETS
    this.#floor = (options.minRetriesPerSecond * options.windowMs) / 1000
  }

  /** Counts one call of `operation` whose first attempt is being sent. */
  recordCall(operation: string): void {
    const w = this.#window(operation)
    const slot = this.#slot(w)
    w.calls[slot] = (w.calls[slot] as number) + 1
  }

  /** Takes a retry of `operation` from the budget; false (nothing taken) when it is spent. */
  tryRetry(operation: string): boolean {
    const w = this.#window(operation)
    const slot = this.#slot(w)
    const { calls, retries } = this.#sum(w)
    if (retries >= Math.max(this.#options.ratio * calls, this.#floor)) return false
    w.retries[slot] = (w.retries[slot] as number) + 1
    return true
  }

  /** The operation's counts in the current window. */
  snapshot(operation: string): RetryBudgetSnapshot {
    const w = this.#window(operation)
    this.#slot(w)
    const { calls, retries } = this.#sum(w)
    return { calls, retries, allowed: Math.max(this.#options.ratio * calls, this.#floor) }
  }

  #window(operation: string): Window {
    return this.#windows.get(operation)
  }

  /**
   * The slot of the current bucket, emptied first if it still holds an older bucket; also
   * empties every slot whose bucket has slid out of the window, so sums only see the window.
   */
  #slot(w: Window): number {
    const epoch = Math.floor(this.#clock.now() / this.#bucketMs)
    for (let i = 0; i < BUCKETS; i++) {
      if (w.epochs[i] !== -1 && epoch - (w.epochs[i] as number) >= BUCKETS) {
        w.epochs[i] = -1
        w.calls[i] = 0
        w.retries[i] = 0
      }
    }
    const slot = epoch % BUCKETS
    if (w.epochs[slot] !== epoch) {
      w.epochs[slot] = epoch
      w.calls[slot] = 0
      w.retries[slot] = 0
    }
    return slot
  }

  #sum(w: Window): { calls: number; retries: number } {
    let calls = 0
    let retries = 0
    for (let i = 0; i < BUCKETS; i++) {
      calls += w.calls[i] as number
      retries += w.retries[i] as number
    }
    return { calls, retries }
  }
}
