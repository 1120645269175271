import { onAbort } from './abort.js'
import type { Call } from './call.js'
import type { CallState } from './hooks.js'

/**
 * The pipeline: every policy of the client is a {@link Step} of one of two scopes, and the client
 * builds each scope with one {@link compose} over a list written outermost first.
 *
 * - `call` steps run once per call (cache, coalescing, stale-if-error, deadline, shared tier,
 *   bulkhead, retry) and see the {@link Call};
 * - `attempt` steps run once per network attempt (adaptive limit, fleet breaker, operation
 *   breaker, transport) and see an {@link Attempt}, the attempt's own state.
 *
 * The boundary is {@link toAttempts}: the innermost call step (retry) calls `next(call)` once per
 * attempt, and each such call becomes a fresh {@link Attempt} run through the attempt steps.
 */

/** The rest of a pipeline, as a step sees it: call it (at most as often as it means to retry). */
export type Next<C> = (context: C) => Promise<unknown>

/** @internal One policy: a function of the call (or attempt) and the next step. */
export type StepFn<C> = (context: C, next: Next<C>) => Promise<unknown>

/** @internal A step of the client's own list: its name (for docs and errors) and its function. */
export interface Step<C> {
  readonly name: string
  readonly run: StepFn<C>
}

/**
 * @internal Composes `steps` around `last`. The list is read **outermost first**: `steps[0]`
 * runs first and its `next` is `steps[1]`, and so on down to `last` (the opposite of undici's
 * `compose()`, which calls the last interceptor first, and the same as cockatiel's `wrap`).
 * Built once per client, so a call pays one function call per step and no allocation.
 */
export function compose<C>(steps: readonly Step<C>[], last: Next<C>): Next<C> {
  let next = last
  for (let i = steps.length - 1; i >= 0; i--) {
    const run = (steps[i] as Step<C>).run
    const inner = next
    next = (context) => run(context, inner)
  }
  return next
}

/**
 * One network attempt of a call, with its own state: its number, its headers (copied on the
 * first write, so a step that sets one changes this attempt only, never the call or the
 * client's shared headers), its own abort signal (created on first use, following the call's),
 * and, once the upstream answered, the response's status and headers.
 */
export class Attempt implements AttemptState {
  /** The call this attempt belongs to. */
  readonly call: Call
  /** 1 for the first attempt of the call. */
  readonly number: number
  /** Status of the last response this attempt received (0 before one arrived). */
  status = 0
  /** Headers of the last response this attempt received (undefined before one arrived). */
  responseHeaders: Readonly<Record<string, string | string[] | undefined>> | undefined
  /** Size of the last response body this attempt received, in bytes. */
  responseBytes = 0
  #headers: Record<string, string>
  #ownHeaders = false
  #controller: AbortController | undefined
  #watcher: AbortWatcher | undefined
  #unfollow: (() => void) | undefined
  #superseded = false

  constructor(call: Call, number: number) {
    this.call = call
    this.number = number
    this.#headers = call.headers
  }

  /** The headers this attempt is sent with. Read-only: change them with {@link setHeader}. */
  get headers(): Readonly<Record<string, string>> {
    return this.#headers
  }

  /** Sets a request header for this attempt only (the first write copies the headers). */
  setHeader(name: string, value: string): void {
    if (!this.#ownHeaders) {
      this.#headers = { ...this.#headers }
      this.#ownHeaders = true
    }
    this.#headers[name.toLowerCase()] = value
  }

  /**
   * This attempt's abort signal: aborts when the call's caller aborts or when {@link abort} is
   * called (a hedge that lost, say), without touching the call's other attempts.
   */
  get signal(): AbortSignal {
    return this.#own().signal
  }

  /** Aborts this attempt only; it then rejects with `UpstreamAbortError`. */
  abort(reason?: unknown): void {
    const controller = this.#own()
    if (controller.signal.aborted) return
    controller.abort(reason)
    this.#watcher?.attemptAborted()
  }

  /**
   * @internal Aborts this attempt because another attempt of the same call already answered (a
   * hedge race was won): the transport then reports no attempt error, and the breaker and the
   * adaptive limit, which ignore aborts, count nothing.
   */
  supersede(): void {
    this.#superseded = true
    this.abort(new Error('superseded by another attempt of the call'))
  }

  /** @internal Whether this attempt was aborted by {@link supersede} (a lost race is no failure). */
  get superseded(): boolean {
    return this.#superseded
  }

  /**
   * @internal Stops following the caller's signal: called when the attempt settled. The caller's
   * signal may live much longer than one attempt (one per keep-alive connection, say), and each
   * attempt that read {@link signal} would otherwise leave a subscriber on it until it aborts.
   */
  release(): void {
    const unfollow = this.#unfollow
    if (unfollow === undefined) return
    this.#unfollow = undefined
    unfollow()
  }

  /** @internal Whether the caller's signal or {@link abort} has aborted this attempt. */
  get aborted(): boolean {
    return this.#controller?.signal.aborted === true || this.call.signal?.aborted === true
  }

  /** @internal The reason of the abort: this attempt's own, else the caller's. */
  get abortReason(): unknown {
    const own = this.#controller?.signal
    return own?.aborted ? own.reason : this.call.signal?.reason
  }

  /**
   * @internal Tells `watcher` when the caller's signal fires or {@link abort} is called (the
   * transport's one subscription); returns the function that stops watching the caller's
   * signal, if there is one. The watcher is not removed: it ignores a late call itself. An
   * attempt nobody aborts on its own costs no AbortController and no closure.
   */
  watchAbort(watcher: AbortWatcher): (() => void) | undefined {
    this.#watcher = watcher
    const callSignal = this.call.signal
    return callSignal === undefined
      ? undefined
      : onAbort(callSignal, () => watcher.attemptAborted())
  }

  #own(): AbortController {
    if (this.#controller === undefined) {
      const controller = new AbortController()
      this.#controller = controller
      const callSignal = this.call.signal
      // One listener per signal (see abort.ts): a caller's signal is often shared by many calls.
      if (callSignal?.aborted) controller.abort(callSignal.reason)
      else if (callSignal !== undefined)
        this.#unfollow = onAbort(callSignal, () => controller.abort(callSignal.reason))
    }
    return this.#controller
  }
}

/** @internal Who is told that an attempt was aborted (the transport's handler). */
export interface AbortWatcher {
  attemptAborted(): void
}

/**
 * @internal The scope boundary: the last `next` of the call steps. Each call of it is one
 * attempt, numbered from 1 per call, run through the composed attempt steps.
 */
export function toAttempts(attempts: Next<Attempt>): Next<Call> {
  return (call) => {
    const attempt = new Attempt(call, ++call.attemptsStarted)
    if (capturing) lastStarted = attempt
    const settled = attempts(attempt)
    // Its own signal follows the caller's only while the attempt runs (see `Attempt.release`).
    // Attached whatever happens, since a step may read `attempt.signal` after an await.
    settled.then(
      () => attempt.release(),
      () => attempt.release(),
    )
    return settled
  }
}

/** Private: the attempt the boundary started last (read by {@link startAttempt} at once). */
let lastStarted: Attempt | undefined
/** Private: true only inside {@link startAttempt}, so no attempt is kept alive otherwise. */
let capturing = false

/**
 * @internal Starts one attempt of `call` through `next`, which must be the boundary itself
 * ({@link toAttempts}), and returns the attempt with its outcome, so the innermost call step
 * (hedging) can abort the one that lost a race. The boundary creates the attempt synchronously
 * inside `next(call)`, so reading it right after that call is safe: nothing else runs between.
 */
export function startAttempt(
  next: Next<Call>,
  call: Call,
): { attempt: Attempt | undefined; settled: Promise<unknown> } {
  lastStarted = undefined
  capturing = true
  let settled: Promise<unknown>
  try {
    settled = next(call)
  } finally {
    capturing = false
  }
  // Cast: TypeScript cannot see that `next(call)` assigned it.
  const started = lastStarted as Attempt | undefined
  const attempt = started?.call === call ? started : undefined
  lastStarted = undefined
  return { attempt, settled }
}

/**
 * One attempt as a user step sees it (see `UpstreamStep`): its number, its headers (set one with
 * `setHeader`: it goes out with this attempt only), its own abort signal and, once the upstream
 * answered (even with an error status), the response's status and headers.
 */
export interface AttemptState {
  /** The call this attempt belongs to. */
  readonly call: CallState
  /** 1 for the first attempt of the call. */
  readonly number: number
  /** The headers this attempt is sent with. */
  readonly headers: Readonly<Record<string, string>>
  /** Sets a request header for this attempt only (never the call's or another call's). */
  setHeader(name: string, value: string): void
  /** This attempt's own abort signal (follows the caller's signal). */
  readonly signal: AbortSignal
  /** Aborts this attempt only. */
  abort(reason?: unknown): void
  /** Status of the response this attempt received; 0 before one arrived. */
  readonly status: number
  /** Headers of the response this attempt received (lower-case names); undefined before one arrived. */
  readonly responseHeaders: Readonly<Record<string, string | string[] | undefined>> | undefined
  /** Size of the response body this attempt received, in bytes (0 before one arrived). */
  readonly responseBytes: number
}

/**
 * A step of your own in the client's pipeline (the `steps` option). `scope: 'call'` steps run
 * once per call that goes upstream (after the cache, the deadline and the bulkhead, around the
 * retries); `scope: 'attempt'` steps run around each network attempt, innermost (after the
 * breakers, right before the transport). `run` gets the call or attempt and `next`, which runs
 * the rest of the pipeline and may be called again (to repeat an attempt, say).
 *
 * @example
 * const refreshOn401: UpstreamStep = {
 *   name: 'refresh-token',
 *   scope: 'attempt',
 *   async run(attempt, next) {
 *     attempt.setHeader('authorization', `Bearer ${await tokens.current()}`)
 *     try {
 *       return await next()
 *     } catch (error) {
 *       if (attempt.status !== 401) throw error
 *       attempt.setHeader('authorization', `Bearer ${await tokens.refresh()}`)
 *       return next()
 *     }
 *   },
 * }
 */
export type UpstreamStep =
  | {
      /** A name for error messages and docs, 1–64 characters. */
      readonly name: string
      readonly scope: 'call'
      run(call: CallState, next: () => Promise<unknown>): Promise<unknown>
    }
  | {
      /** A name for error messages and docs, 1–64 characters. */
      readonly name: string
      readonly scope: 'attempt'
      run(attempt: AttemptState, next: () => Promise<unknown>): Promise<unknown>
    }
