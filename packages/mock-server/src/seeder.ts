import { randomUUID } from 'node:crypto'
import { type MockClock, sleep, systemClock } from './clock.js'
import { InvalidMockOptionError } from './errors/InvalidMockOptionError.js'

/** Options of {@link seedEvents}. */
export interface SeedOptions {
  /** Base URL of the service to seed, e.g. `http://127.0.0.1:3000`. */
  target: string
  /** How many events to add. */
  count: number
  /** The user the events belong to. */
  userId: string
  /** Events posted at once. Default `4`. */
  concurrency?: number
  /** Path of the write route on the target. Default `'/addEvent'`. */
  path?: string
  /** Retries per event after its first attempt. Default `10`. */
  retries?: number
  /** First backoff delay. Default `100` ms; doubles (see `factor`) up to `maxDelayMs`. */
  minDelayMs?: number
  /** Backoff ceiling. Default `5000` ms. */
  maxDelayMs?: number
  /** Backoff growth per retry. Default `2`. */
  factor?: number
  /** Randomise each backoff between half and all of it, to spread retries. Default `true`. */
  jitter?: boolean
  /** Longest `Retry-After` honoured; a longer one is cut to this. Default `30_000` ms. */
  maxRetryAfterMs?: number
  /** Per-attempt timeout. Default `10_000` ms. */
  timeoutMs?: number
  /** The body of event `index` (0-based), without `userId`. Default `{ name: 'seed-event-<index>' }`. */
  makeEvent?: (index: number) => { name: string; details?: string }
  /** Called after every attempt, for progress display. */
  onProgress?: (progress: SeedProgress) => void
  /** Stops seeding; pending events count as failed. */
  signal?: AbortSignal
  /** `fetch` implementation. Default: the global one, read at call time. */
  fetch?: typeof fetch
  /** Timers for the backoff. Default: the global timers, read at call time. */
  clock?: MockClock
}

/** Progress of a seeding run, passed to `onProgress` after every attempt. */
export interface SeedProgress {
  /** Events requested. */
  total: number
  /** Events added so far. */
  added: number
  /** Events given up on so far. */
  failed: number
  /** HTTP attempts so far, including retries. */
  attempts: number
  /** Retries so far (attempts beyond each event's first). */
  retries: number
}

/** One event that could not be added. */
export interface SeedFailure {
  /** 0-based index of the event. */
  index: number
  /** Last HTTP status, when there was an answer. */
  status?: number
  /** Why it failed. */
  message: string
}

/** The outcome of {@link seedEvents}. */
export interface SeedResult extends SeedProgress {
  /** One entry per event not added. */
  failures: SeedFailure[]
}

/**
 * Posts `count` events `{ name, userId, details? }` to a service's `POST /addEvent` with bounded
 * concurrency (the service generates the ids). A `503`, `429`, `502`, `504` or network error is
 * retried with exponential backoff; a `Retry-After` header replaces the computed delay (capped by
 * `maxRetryAfterMs`). Other statuses are final. Only the failed event is retried, never the batch.
 * Each event is sent with its own `Idempotency-Key`, the same on every retry of that event.
 *
 * The retry loop is written here rather than taken from p-retry: a `Retry-After` must *replace*
 * the backoff for that attempt, which p-retry cannot express (its `onFailedAttempt` can only add
 * a wait on top), and the loop needs the injectable clock and the abort signal — about 20 lines.
 *
 * @example
 * const result = await seedEvents({ target: 'http://127.0.0.1:3000', count: 200, userId: '1' })
 * if (result.failed > 0) process.exitCode = 1
 */
export async function seedEvents(options: SeedOptions): Promise<SeedResult> {
  const o = resolveSeedOptions(options)
  const url = new URL(o.path, `${o.target.replace(/\/+$/, '')}/`).href
  const progress: SeedProgress = { total: o.count, added: 0, failed: 0, attempts: 0, retries: 0 }
  const failures: SeedFailure[] = []
  const report = () => o.onProgress?.({ ...progress })
  let next = 0

  // One key per event for the whole seeding run: every retry of an event carries the same
  // `Idempotency-Key`, so a retry after a write that did land (a timeout, a dropped connection,
  // a 504 from a gateway) is recognised by the service instead of adding the event twice.
  const runId = randomUUID()
  const addOne = async (index: number): Promise<void> => {
    const body = JSON.stringify({ ...o.makeEvent(index), userId: o.userId })
    const idempotencyKey = `${runId}-${index}`
    for (let attempt = 0; ; attempt++) {
      if (o.signal?.aborted) {
        failures.push({ index, message: 'aborted' })
        progress.failed++
        return
      }
      progress.attempts++
      if (attempt > 0) progress.retries++
      const outcome = await post(o, url, body, idempotencyKey)
      if (outcome.ok) {
        progress.added++
        report()
        return
      }
      if (!outcome.retryable || attempt >= o.retries) {
        failures.push({ index, status: outcome.status, message: outcome.message })
        progress.failed++
        report()
        return
      }
      report()
      await sleep(o.clock, backoff(o, attempt, outcome.retryAfterMs), o.signal)
    }
  }

  // A fixed pool of workers pulling the next index bounds concurrency without a queue library.
  const worker = async () => {
    while (next < o.count) await addOne(next++)
  }
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.count) }, worker))
  failures.sort((a, b) => a.index - b.index)
  return { ...progress, failures }
}

type Resolved = Required<Omit<SeedOptions, 'onProgress' | 'signal' | 'fetch'>> &
  Pick<SeedOptions, 'onProgress' | 'signal' | 'fetch'>

/** Private: defaults and validation, quoting the bad value. */
function resolveSeedOptions(options: SeedOptions): Resolved {
  const o: Resolved = {
    concurrency: 4,
    path: '/addEvent',
    retries: 10,
    minDelayMs: 100,
    maxDelayMs: 5000,
    factor: 2,
    jitter: true,
    maxRetryAfterMs: 30_000,
    timeoutMs: 10_000,
    makeEvent: (index) => ({ name: `seed-event-${index}` }),
    clock: systemClock,
    ...stripUndefined(options),
  }
  try {
    const target = new URL(o.target)
    if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error('protocol')
  } catch {
    throw new InvalidMockOptionError('target', 'an http(s) URL', o.target)
  }
  const integer = (name: string, value: number, min: number) => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
      throw new InvalidMockOptionError(name, `an integer >= ${min}`, value)
    }
  }
  integer('count', o.count, 0)
  integer('concurrency', o.concurrency, 1)
  integer('retries', o.retries, 0)
  for (const name of ['minDelayMs', 'maxDelayMs', 'maxRetryAfterMs', 'timeoutMs'] as const) {
    if (typeof o[name] !== 'number' || !(o[name] >= 0)) {
      throw new InvalidMockOptionError(name, 'a non-negative number of milliseconds', o[name])
    }
  }
  if (typeof o.factor !== 'number' || !(o.factor >= 1)) {
    throw new InvalidMockOptionError('factor', 'a number >= 1', o.factor)
  }
  if (typeof o.userId !== 'string' || o.userId === '') {
    throw new InvalidMockOptionError('userId', 'a non-empty string', o.userId)
  }
  return o
}

type Outcome =
  | { ok: true }
  | { ok: false; retryable: boolean; status?: number; message: string; retryAfterMs?: number }

const RETRYABLE = new Set([429, 502, 503, 504])

/** Private: one attempt. Network errors and timeouts are retryable; so are the statuses above. */
async function post(
  o: Resolved,
  url: string,
  body: string,
  idempotencyKey: string,
): Promise<Outcome> {
  const signals = [AbortSignal.timeout(o.timeoutMs)]
  if (o.signal) signals.push(o.signal)
  try {
    const res = await (o.fetch ?? globalThis.fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      body,
      signal: AbortSignal.any(signals),
    })
    // Drain the body so the keep-alive connection can be reused.
    const text = await res.text()
    if (res.ok) return { ok: true }
    return {
      ok: false,
      retryable: RETRYABLE.has(res.status),
      status: res.status,
      message: `POST ${url}: ${res.status} ${text.slice(0, 200)}`,
      retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
    }
  } catch (error) {
    return { ok: false, retryable: true, message: `POST ${url}: ${(error as Error).message}` }
  }
}

/** Private: the wait before retry number `attempt + 1`. */
function backoff(o: Resolved, attempt: number, retryAfterMs: number | undefined): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, o.maxRetryAfterMs)
  const full = Math.min(o.minDelayMs * o.factor ** attempt, o.maxDelayMs)
  return o.jitter ? full / 2 + (Math.random() * full) / 2 : full
}

/**
 * Parses a `Retry-After` value: delay-seconds or an HTTP date. Returns milliseconds, or
 * `undefined` when absent or unparsable.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null || value.trim() === '') return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Private: drops keys whose value is `undefined`, so they do not override defaults. */
function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T
}
