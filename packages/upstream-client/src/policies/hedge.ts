import type { Call } from '../call.js'
import { checks, fail } from '../checks.js'
import type { Clock } from '../clock.js'
import type { ClientHooks, HedgeEvent } from '../hooks.js'
import { OperationMap } from '../operation-map.js'
import type { CircuitStateReader, RetryAllowance } from '../operation-state.js'
import { type Attempt, type Next, type Step, startAttempt } from '../pipeline.js'
import { LATENCY_SAMPLES, LatencyWindow, LoadWindow } from './hedge-stats.js'

/**
 * Hedged requests (`hedge`): when an attempt has not answered after `delayMs`, a second copy is
 * sent; the first answer wins and the other attempt is aborted (its socket released; an aborted
 * loser is no failure). Bounded like Finagle's `BackupRequestFilter`: an operation's hedges stay
 * under `maxExtraLoad` of its calls in a sliding 10 s window, and each hedge is also taken from
 * the retry budget. GET and HEAD are hedged; a write only with an `idempotencyKey`.
 *
 * @example
 * createUpstreamClient({ baseUrl, hedge: { delayMs: 'auto', maxExtraLoad: 0.05 } })
 */
export interface HedgeOptions {
  /**
   * How long an attempt may go unanswered before a hedge is sent, in ms, or `'auto'`: the
   * operation's live `percentile` latency once it has `minSamples` answers (`fallbackDelayMs`
   * before that).
   */
  delayMs: number | 'auto'
  /** Hedges allowed per call of the operation in the window, from 0 (exclusive) to 1, e.g. 0.05. */
  maxExtraLoad: number
  /** The latency percentile `'auto'` waits for, between 0 and 1 (exclusive). Default 0.95. */
  percentile?: number
  /** Answers of the operation `'auto'` needs before it trusts the percentile. Default 50 (at most 512). */
  minSamples?: number
  /** The delay `'auto'` uses until `minSamples` answers were seen, in ms. Default 100. */
  fallbackDelayMs?: number
}

/** @internal Resolved hedge options. */
export type ResolvedHedge = Required<HedgeOptions>

/** @internal Defaults of the optional hedge options. */
export const hedgeDefaults = Object.freeze({
  percentile: 0.95,
  minSamples: 50,
  fallbackDelayMs: 100,
})

/** @internal Length of the window `maxExtraLoad` is counted over, in ms (Finagle's default). */
export const HEDGE_WINDOW_MS = 10_000

const KEYS = ['delayMs', 'maxExtraLoad', 'percentile', 'minSamples', 'fallbackDelayMs']

/**
 * @internal Validates `hedge`; `undefined` and `false` turn it off. Throws `InvalidOptionError`
 * naming the option and quoting the value.
 */
export function resolveHedge(value: unknown): ResolvedHedge | false {
  if (value === undefined || value === false) return false
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    fail('hedge', 'an object or false', value)
  }
  checks.rejectUnknown('hedge.', value, KEYS)
  const v = value as Partial<HedgeOptions>
  const delayMs = v.delayMs === 'auto' ? 'auto' : checks.timerDelay('hedge.delayMs', v.delayMs, -1)
  if (delayMs !== 'auto' && v.delayMs === undefined) {
    fail('hedge.delayMs', "a delay in ms or 'auto'", v.delayMs)
  }
  const load = v.maxExtraLoad
  if (typeof load !== 'number' || !(load > 0 && load <= 1)) {
    fail('hedge.maxExtraLoad', 'a number above 0, at most 1', load)
  }
  const percentile = v.percentile ?? hedgeDefaults.percentile
  if (typeof percentile !== 'number' || !(percentile > 0 && percentile < 1)) {
    fail('hedge.percentile', 'a number between 0 and 1 (exclusive)', percentile)
  }
  const minSamples = checks.integerBetween(
    'hedge.minSamples',
    v.minSamples,
    1,
    LATENCY_SAMPLES,
    hedgeDefaults.minSamples,
  )
  const fallbackDelayMs = checks.timerDelay(
    'hedge.fallbackDelayMs',
    v.fallbackDelayMs,
    hedgeDefaults.fallbackDelayMs,
  )
  return { delayMs, maxExtraLoad: load, percentile, minSamples, fallbackDelayMs }
}

/**
 * @internal The hedge step (per call), the innermost call step, right above the attempt
 * boundary: each `next(call)` it makes is one attempt through the attempt steps, so a hedge
 * passes the adaptive limit and the breakers like any attempt and they see the extra load.
 * Below retry, so one retry runs one hedged *try*: the try fails only when every attempt of it
 * failed, and the retry after it is a new try with its own hedge (and retries and hedges share
 * the retry budget).
 */
export function hedgeStep(policy: HedgePolicy): Step<Call> {
  return { name: 'hedge', run: (call, next) => policy.execute(call, next) }
}

/** @internal What the hedge policy reads of the client. */
export interface HedgeDeps {
  clock: Clock
  hooks: ClientHooks
  /** The operation breakers' states: no hedge unless closed. */
  circuits: CircuitStateReader
  /** The retry budget, when on: each hedge takes one retry from it. */
  budget: RetryAllowance | undefined
  maxOperations: number
}

/** Private: per-operation state. */
interface OperationStats {
  latency: LatencyWindow
  load: LoadWindow
}

/** @internal The hedge policy: per-operation latency and load windows, and the race. */
export class HedgePolicy {
  readonly #options: ResolvedHedge
  readonly #deps: HedgeDeps
  readonly #stats: OperationMap<OperationStats>

  constructor(options: ResolvedHedge, deps: HedgeDeps) {
    this.#options = options
    this.#deps = deps
    this.#stats = new OperationMap(deps.maxOperations, () => ({
      latency: new LatencyWindow(),
      load: new LoadWindow(deps.clock, HEDGE_WINDOW_MS),
    }))
  }

  /** Runs one try of the call: its attempt, and a hedge if it is slow and the rules allow one. */
  execute(call: Call, next: Next<Call>): Promise<unknown> {
    if (!call.hedge || !isHedgeable(call)) return next(call)
    const stats = this.#stats.get(call.operation)
    // A call counts once, on its first try; its retries are not new calls.
    if (call.attemptsStarted === 0) stats.load.recordCall()
    const delayMs = this.#delay(stats)
    return new HedgedTry(this, call, next, stats, delayMs).run()
  }

  /** The reason a hedge may not be sent now, or undefined when it may (and was taken). */
  refusal(call: Call, stats: OperationStats, delayMs: number): HedgeEvent['reason'] {
    const { clock, circuits, budget } = this.#deps
    // Room for the hedge to take as long as the first attempt was given before it.
    if (call.deadlineAt - clock.now() < delayMs) return 'deadline'
    if (circuits.stateOf(call.operation) !== 'closed') return 'circuit'
    if (!stats.load.tryHedge(this.#options.maxExtraLoad)) return 'load'
    if (budget !== undefined && !budget.tryRetry(call.operation)) return 'budget'
    return undefined
  }

  get deps(): HedgeDeps {
    return this.#deps
  }

  #delay(stats: OperationStats): number {
    const o = this.#options
    if (o.delayMs !== 'auto') return o.delayMs
    const latency = stats.latency
    return latency.count < o.minSamples ? o.fallbackDelayMs : latency.percentile(o.percentile)
  }
}

/**
 * Private: one hedged try. The first attempt starts at once; if it has not settled after the
 * delay, the rules are asked and a hedge may start. The first success wins and supersedes the
 * others. A failure before the hedge was sent ends the try at once (the retry step decides what
 * follows, as without hedging); once two attempts run, a failure waits for the other one, and
 * the try fails with the last error only when both failed.
 */
class HedgedTry {
  readonly #policy: HedgePolicy
  readonly #call: Call
  readonly #next: Next<Call>
  readonly #stats: OperationStats
  readonly #delayMs: number
  readonly #attempts: Entry[] = []
  #pending = 0
  #settled = false
  #timer: unknown
  #resolve: (value: unknown) => void = () => {}
  #reject: (error: unknown) => void = () => {}

  constructor(
    policy: HedgePolicy,
    call: Call,
    next: Next<Call>,
    stats: OperationStats,
    delayMs: number,
  ) {
    this.#policy = policy
    this.#call = call
    this.#next = next
    this.#stats = stats
    this.#delayMs = delayMs
  }

  run(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.#resolve = resolve
      this.#reject = reject
      const { clock } = this.#policy.deps
      this.#timer = clock.setTimeout(() => this.#onDelay(), this.#delayMs)
      this.#start(false)
    })
  }

  #start(isHedge: boolean): void {
    const { clock } = this.#policy.deps
    const startedAt = clock.now()
    const { attempt, settled } = startAttempt(this.#next, this.#call)
    const entry: Entry = { attempt, startedAt, failed: false }
    this.#attempts.push(entry)
    this.#pending++
    settled.then(
      (value) => this.#won(entry, isHedge, value),
      (error: unknown) => this.#failed(entry, error),
    )
  }

  #onDelay(): void {
    this.#timer = undefined
    if (this.#settled) return
    const call = this.#call
    const first = this.#attempts[0]?.attempt
    const reason = this.#policy.refusal(call, this.#stats, this.#delayMs)
    if (reason !== undefined) {
      this.#emit('refused', first?.number ?? call.attemptsStarted, reason)
      return
    }
    this.#emit('sent', call.attemptsStarted + 1)
    this.#start(true)
  }

  #won(entry: Entry, isHedge: boolean, value: unknown): void {
    this.#pending--
    if (this.#settled) return
    this.#finish()
    const now = this.#policy.deps.clock.now()
    this.#stats.latency.record(now - entry.startedAt)
    for (const other of this.#attempts) {
      if (other === entry || other.attempt === undefined || other.failed) continue
      // A loser's latency is at least this long: recorded so 'auto' still counts it as slow.
      this.#stats.latency.record(now - other.startedAt)
      other.attempt.supersede()
    }
    if (isHedge) this.#emit('won', entry.attempt?.number ?? this.#call.attemptsStarted)
    else {
      for (const other of this.#attempts) {
        if (other !== entry && other.attempt !== undefined && !other.failed) {
          this.#emit('lost', other.attempt.number)
        }
      }
    }
    this.#resolve(value)
  }

  #failed(entry: Entry, error: unknown): void {
    entry.failed = true
    this.#pending--
    if (this.#settled || this.#pending > 0) return
    this.#finish()
    this.#reject(error)
  }

  #finish(): void {
    this.#settled = true
    if (this.#timer !== undefined) this.#policy.deps.clock.clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #emit(type: HedgeEvent['type'], attempt: number, reason?: HedgeEvent['reason']): void {
    const hook = this.#policy.deps.hooks.hedge
    if (!hook.active) return
    const call = this.#call
    const event: HedgeEvent = {
      type,
      method: call.method,
      url: call.url,
      path: call.path,
      operation: call.operation,
      attempt,
      delayMs: this.#delayMs,
      requestId: call.requestId,
      call,
    }
    if (reason !== undefined) event.reason = reason
    hook.emit(event)
  }
}

/** Private: one attempt of a hedged try. */
interface Entry {
  attempt: Attempt | undefined
  startedAt: number
  /** It failed while another attempt of the try still ran. */
  failed: boolean
}

/** Private: GET and HEAD, or a write that carries an idempotency key. */
function isHedgeable(call: Call): boolean {
  return (
    call.method === 'GET' || call.method === 'HEAD' || call.headers['idempotency-key'] !== undefined
  )
}
