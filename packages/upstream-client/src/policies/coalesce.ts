/**
 * @internal In-flight coalescing policy: concurrent identical GETs share one upstream call. The
 * shared promise is dropped as soon as it settles, so later calls go to the cache or the
 * upstream again; the caller stores a success in the cache before this happens, which leaves no
 * gap where a new call would miss both.
 */
export class Coalescer {
  readonly #inFlight = new Map<string, Promise<unknown>>()

  /** Whether a call for `key` is in flight, so that the next `run` for it joins that call. */
  has(key: string): boolean {
    return this.#inFlight.has(key)
  }

  /** Returns the promise already running for `key`, or starts `start()` and shares it. */
  run(key: string, start: () => Promise<unknown>): Promise<unknown> {
    const running = this.#inFlight.get(key)
    if (running !== undefined) return running
    const promise = start().finally(() => {
      this.#inFlight.delete(key)
    })
    this.#inFlight.set(key, promise)
    return promise
  }
}
