/**
 * A seeded pseudo-random generator (mulberry32): a function returning floats in [0, 1).
 * Each mock instance owns one, so two instances never share a sequence.
 */
export type Random = () => number

/** Creates a mulberry32 generator from a 32-bit integer seed. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
