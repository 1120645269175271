import type { Clock } from '../clock.js'

// The hedge policy's own statistics: a ring of recent latencies with a cached percentile, and a
// sliding window of calls and hedges. Private to `hedge.ts`.
//
// Looked for first: `hdr-histogram-js` (maintained, exact to a set precision) records since its
// creation, so a sliding view needs two histograms rotated by hand, and it would be the client's
// first dependency with a WebAssembly build; `tdigest` (npm, last released years ago) has no
// window either. A ring of the last samples is a sliding window by construction, and a sort of
// 512 numbers every 32 samples costs less per call than either library's insert.

/** @internal Latency samples kept per operation. */
export const LATENCY_SAMPLES = 512
/** Private: the percentile is recomputed after this many new samples. */
const REFRESH_EVERY = 32

/** @internal The last {@link LATENCY_SAMPLES} latencies of one operation and a percentile of them. */
export class LatencyWindow {
  readonly #samples = new Float64Array(LATENCY_SAMPLES)
  #count = 0
  #next = 0
  #sinceRefresh = 0
  #cached = Number.NaN

  /** Records one latency, in ms. */
  record(ms: number): void {
    this.#samples[this.#next] = ms
    this.#next = (this.#next + 1) % LATENCY_SAMPLES
    if (this.#count < LATENCY_SAMPLES) this.#count++
    this.#sinceRefresh++
  }

  /** Samples held (at most {@link LATENCY_SAMPLES}). */
  get count(): number {
    return this.#count
  }

  /** The `p` quantile (0 < p < 1) of the samples held, nearest rank; NaN with no sample. */
  percentile(p: number): number {
    if (this.#count === 0) return Number.NaN
    if (Number.isNaN(this.#cached) || this.#sinceRefresh >= REFRESH_EVERY) {
      const sorted = this.#samples.slice(0, this.#count).sort()
      const rank = Math.min(this.#count - 1, Math.max(0, Math.ceil(p * this.#count) - 1))
      this.#cached = sorted[rank] as number
      this.#sinceRefresh = 0
    }
    return this.#cached
  }
}

/** Private: buckets per window; the window slides in steps of a tenth of its length. */
const BUCKETS = 10

/**
 * @internal Calls and hedges of one operation over a sliding window (ten buckets read through the
 * injected clock), for Finagle's rule: hedges stay under `maxExtraLoad` × calls in the window.
 */
export class LoadWindow {
  readonly #clock: Clock
  readonly #bucketMs: number
  readonly #epochs = new Array<number>(BUCKETS).fill(-1)
  readonly #calls = new Array<number>(BUCKETS).fill(0)
  readonly #hedges = new Array<number>(BUCKETS).fill(0)

  constructor(clock: Clock, windowMs: number) {
    this.#clock = clock
    this.#bucketMs = windowMs / BUCKETS
  }

  recordCall(): void {
    const slot = this.#slot()
    this.#calls[slot] = (this.#calls[slot] as number) + 1
  }

  /** Takes a hedge when hedges stay within `ratio` × calls; false (nothing taken) otherwise. */
  tryHedge(ratio: number): boolean {
    const slot = this.#slot()
    let calls = 0
    let hedges = 0
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.#calls[i] as number
      hedges += this.#hedges[i] as number
    }
    if (hedges + 1 > ratio * calls) return false
    this.#hedges[slot] = (this.#hedges[slot] as number) + 1
    return true
  }

  /** The current bucket's slot, emptying every slot whose bucket slid out of the window. */
  #slot(): number {
    const epoch = Math.floor(this.#clock.now() / this.#bucketMs)
    for (let i = 0; i < BUCKETS; i++) {
      const held = this.#epochs[i] as number
      if (held !== -1 && (epoch - held >= BUCKETS || held > epoch)) {
        this.#epochs[i] = -1
        this.#calls[i] = 0
        this.#hedges[i] = 0
      }
    }
    const slot = epoch % BUCKETS
    if (this.#epochs[slot] !== epoch) {
      this.#epochs[slot] = epoch
      this.#calls[slot] = 0
      this.#hedges[slot] = 0
    }
    return slot
  }
}
