import type { Clock } from '@userevents/upstream-client'

/** @internal What a waiter learns: the value is there, the holder gave up, or its poll interval passed. */
export type Outcome = 'filled' | 'gave-up' | 'timeout'

/**
 * @internal The loads of this replica waiting for another replica's fetch, by key id. A waiter
 * is registered before the lease attempt, so no announcement can be missed.
 */
export class Waiters {
  readonly #byId = new Map<string, Set<(outcome: Outcome) => void>>()
  readonly #clock: Clock

  constructor(clock: Clock) {
    this.#clock = clock
  }

  /** Wakes every waiter of `id` with the announced outcome. */
  wake(id: string, outcome: Outcome): void {
    for (const wake of this.#byId.get(id) ?? []) wake(outcome)
  }

  /** Registers a waiter of `id`: `wait(ms)` until announced or `ms` passed; `done()` when leaving. */
  expect(id: string) {
    let wake!: (outcome: Outcome) => void
    const announced = new Promise<Outcome>((resolve) => {
      wake = resolve
    })
    let set = this.#byId.get(id)
    if (set === undefined) {
      set = new Set()
      this.#byId.set(id, set)
    }
    const own = set
    own.add(wake)
    const done = () => {
      own.delete(wake)
      if (own.size === 0 && this.#byId.get(id) === own) this.#byId.delete(id)
    }
    const wait = (ms: number) =>
      new Promise<Outcome>((resolve) => {
        const timer = this.#clock.setTimeout(() => resolve('timeout'), ms)
        announced.then((outcome) => {
          this.#clock.clearTimeout(timer)
          resolve(outcome)
        })
      })
    return { wait, done }
  }
}
