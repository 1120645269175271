import { checks } from '../../checks.js'
import { type MockClock, sleep } from '../../clock.js'
import { createRandom, type Random } from '../../prng.js'
import { badRequest, type CoreAnswer, type CoreRequest, json } from '../exchange.js'
import type { CoreRoute } from '../route.js'

/**
 * The tail overlay: a share of the data routes' answers is delayed by a fixed time, drawn from a
 * seeded generator, on top of whatever the mode does (modes are exclusive, overlays are not).
 * Models a slow tail (a GC pause, a cold cache, one bad host) for hedging experiments.
 *
 * @example
 * createMockUpstream({ mode: 'healthy', delays: 0, tail: { rate: 0.02, delayMs: 300 } })
 */
export interface TailOptions {
  /** Share of answers delayed, from 0 to 1, e.g. `0.02`. */
  rate: number
  /** Extra delay of those answers, in ms. */
  delayMs: number
}

const KEYS = ['rate', 'delayMs']

/** Internal: validates a tail setting; `false` or `undefined` is off. */
export function resolveTail(option: string, value: unknown): TailOptions | false {
  if (value === undefined || value === false || value === null) return false
  if (typeof value !== 'object' || Array.isArray(value)) {
    fail(option, 'an object { rate, delayMs } or false', value)
  }
  checks.rejectUnknown(`${option}.`, value, KEYS)
  const v = value as Partial<TailOptions>
  const rate = v.rate
  if (typeof rate !== 'number' || !(rate >= 0 && rate <= 1)) {
    fail(`${option}.rate`, 'a number from 0 to 1', rate)
  }
  if (v.delayMs === undefined) fail(`${option}.delayMs`, 'a delay in ms', v.delayMs)
  const delayMs = checks.timerDelay(`${option}.delayMs`, v.delayMs, 0)
  return { rate, delayMs }
}

/**
 * Internal: parses the CLI form `RATE:MS` (`0.02:300`) and validates it like the option; throws
 * `InvalidMockOptionError` naming `--tail`.
 */
export function parseTail(spec: string): TailOptions | false {
  const match = /^([0-9.]+):([0-9.]+)$/.exec(spec.trim())
  if (match === null) fail('--tail', 'RATE:MS, e.g. 0.02:300', spec)
  return resolveTail('--tail', { rate: Number(match[1]), delayMs: Number(match[2]) })
}

/**
 * Internal: the overlay's state in one mock instance: the setting, its own seeded generator (so
 * turning the tail on does not shift the draws of the `flapping` mode) and the answers delayed.
 */
export class TailOverlay {
  #setting: TailOptions | false
  readonly #random: Random
  readonly #clock: MockClock
  #delayed = 0

  constructor(setting: TailOptions | false, seed: number, clock: MockClock) {
    this.#setting = setting
    // A different stream from the mode's generator of the same seed.
    this.#random = createRandom(seed ^ 0x7a11)
    this.#clock = clock
  }

  get setting(): TailOptions | false {
    return this.#setting === false ? false : { ...this.#setting }
  }

  /** Replaces the setting (validated); `false` turns the overlay off. */
  set(value: unknown): void {
    this.#setting = resolveTail('tail', value)
  }

  /** Answers delayed since the mock started. */
  get delayed(): number {
    return this.#delayed
  }

  /**
   * The overlay's step of a data request: draws whether this answer is in the tail and waits if
   * so; `false` when the client went away meanwhile. Off, it costs one comparison.
   */
  apply(request: CoreRequest): Promise<boolean> | boolean {
    const setting = this.#setting
    if (setting === false || setting.rate === 0) return true
    if (this.#random() >= setting.rate) return true
    this.#delayed++
    return sleep(this.#clock, setting.delayMs, request.signal)
  }
}

/** Internal: `GET /__admin/tail` and `POST /__admin/tail` (`{ rate, delayMs }` or `false`). */
export function tailRoutes(tail: TailOverlay): CoreRoute[] {
  const describe = () => json({ tail: tail.setting, delayed: tail.delayed })
  return [
    { method: 'GET', path: '/__admin/tail', serve: async () => describe() },
    {
      method: 'POST',
      path: '/__admin/tail',
      serve: async (request): Promise<CoreAnswer> => {
        try {
          tail.set(await request.json())
        } catch (error) {
          return badRequest((error as Error).message)
        }
        return describe()
      },
    },
  ]
}

/** Private: the check kit's failure, typed as never so the checks above narrow. */
function fail(option: string, expected: string, value: unknown): never {
  return checks.fail(option, expected, value)
}
