import { AsyncResource } from 'node:async_hooks'
import type { Dispatcher } from 'undici'
import { attemptBudget, type Call, deadlineError, notModified } from '../call.js'
import type { Clock } from '../clock.js'
import { UpstreamAbortError } from '../errors/abort-error.js'
import { BodyTooLargeError } from '../errors/body-too-large-error.js'
import { UpstreamHttpError } from '../errors/http-error.js'
import { InvalidBodyError } from '../errors/invalid-body-error.js'
import { UpstreamTimeoutError } from '../errors/timeout-error.js'
import type { UpstreamError } from '../errors/upstream-error.js'
import type { ClientHooks, Hook } from '../hooks.js'
import type { AbortWatcher, Attempt } from '../pipeline.js'
import { BodyCollector, isBodyless, parseErrorBody } from './body.js'
import { classifyTransportError, parseRetryAfter } from './classify.js'

/** @internal What the transport needs from the client. */
export interface TransportConfig {
  dispatcher: Dispatcher
  origin: string
  maxBodyBytes: number
  clock: Clock
  hooks: ClientHooks
  /** Deadline-propagation header (lower case), or undefined when off. */
  deadlineHeader: string | undefined
}

/**
 * @internal One network attempt, the last step of the attempt scope: per-attempt timeout →
 * undici dispatcher → body limit and JSON parse → error classification. Resolves with the parsed
 * JSON of a 2xx response and rejects with an {@link UpstreamError} otherwise; either way the
 * response's status and headers are left on the {@link Attempt} for the steps above.
 *
 * It drives undici's `dispatch()` with its own handler instead of `undici.request()`: that skips
 * the Readable stream `request()` builds for every response, lets the body limit act on each
 * chunk as it arrives, and needs exactly one timer per attempt (no AbortController per call).
 */
export function runAttempt(config: TransportConfig, state: Attempt): Promise<unknown> {
  const call = state.call
  const attempt = state.number
  const startedAt = config.clock.now()
  const budgetMs = attemptBudget(call, startedAt)
  if (budgetMs <= 0) return Promise.reject(deadlineError(call, attempt - 1))
  if (state.aborted) {
    return Promise.reject(
      new UpstreamAbortError({
        method: call.method,
        url: call.url,
        attempts: attempt - 1,
        cause: state.abortReason,
      }),
    )
  }
  call.attempts = attempt
  const hooks = config.hooks
  let headers = state.headers as Record<string, string>
  if (hooks.request.active) {
    // A copy per observed attempt, so listeners (trace context) can add headers to this attempt
    // without touching the call's headers, which are shared between calls (steps write through
    // `Attempt.setHeader`, which copies on its first write).
    headers = { ...headers }
    hooks.request.emit({
      method: call.method,
      url: call.url,
      path: call.path,
      operation: call.operation,
      attempt,
      requestId: call.requestId,
      call,
      headers,
    })
  }
  return new Promise((resolve, reject) => {
    const handler = new AttemptHandler(config, state, budgetMs, startedAt, resolve, reject)
    try {
      config.dispatcher.dispatch(
        {
          origin: config.origin,
          path: call.requestPath,
          method: call.method as Dispatcher.HttpMethod,
          headers: withDeadline(config.deadlineHeader, headers, budgetMs),
          body: call.body,
        },
        handler,
      )
    } catch (error) {
      handler.fail(classifyTransportError(error, call, attempt, budgetMs))
    }
  })
}

/**
 * Private: deadline propagation. The upstream is told the attempt's budget, not the call's whole
 * remaining deadline: this attempt is abandoned when the budget runs out (a retry is a new
 * request with a new header), so work past it would be done for nobody. Whole milliseconds,
 * rounded down so the upstream never believes it has more time than it does; the budget is never
 * more than the time left before the deadline, which is at most `deadlineMs`.
 */
function withDeadline(
  header: string | undefined,
  headers: Record<string, string>,
  budgetMs: number,
): Record<string, string> {
  if (header === undefined) return headers
  return { ...headers, [header]: String(Math.floor(budgetMs)) }
}

/**
 * Private: undici handler for one attempt. Exactly one of resolve/reject is called (`#settled`);
 * anything undici reports after that, such as the error caused by our own abort, is ignored.
 */
class AttemptHandler implements Dispatcher.DispatchHandler, AbortWatcher {
  readonly #config: TransportConfig
  readonly #call: Call
  readonly #state: Attempt
  readonly #attempt: number
  readonly #budgetMs: number
  readonly #startedAt: number
  readonly #resolve: (value: unknown) => void
  readonly #reject: (error: UpstreamError) => void
  readonly #body = new BodyCollector()
  readonly #timer: unknown
  /**
   * The caller's async context, kept only when someone listens to the attempt's outcome. undici
   * calls this handler from the socket's callbacks, which run in the context of whoever opened
   * the (kept-alive) connection: a listener reading an AsyncLocalStorage (a log line's trace id,
   * say) would otherwise see another call's store.
   */
  readonly #scope: AsyncResource | undefined
  #unsubscribeAbort: (() => void) | undefined
  #controller: Dispatcher.DispatchController | undefined
  #settled = false
  #status = 0
  #statusText: string | undefined
  #retryAfter: unknown

  constructor(
    config: TransportConfig,
    state: Attempt,
    budgetMs: number,
    startedAt: number,
    resolve: (value: unknown) => void,
    reject: (error: UpstreamError) => void,
  ) {
    const call = state.call
    const attempt = state.number
    this.#config = config
    this.#call = call
    this.#state = state
    this.#attempt = attempt
    this.#budgetMs = budgetMs
    this.#startedAt = startedAt
    this.#resolve = resolve
    this.#reject = reject
    this.#timer = config.clock.setTimeout(() => this.#onTimeout(), budgetMs)
    this.#scope =
      config.hooks.response.active || config.hooks.attemptError.active
        ? new AsyncResource('UpstreamAttempt')
        : undefined
    // The caller's signal, or this attempt's own abort (a hedge that lost), whichever comes first.
    this.#unsubscribeAbort = state.watchAbort(this)
  }

  /** Called by the attempt when its caller's signal fires or it was aborted on its own. */
  attemptAborted(): void {
    this.#abortWith(
      new UpstreamAbortError({
        method: this.#call.method,
        url: this.#call.url,
        attempts: this.#attempt,
        cause: this.#state.abortReason,
      }),
    )
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    // The timeout or the caller's abort can fire while the request still waits for a free
    // connection; undici only hands us the controller now, so this is the first chance to stop it
    // before anything is written.
    if (this.#settled) controller.abort(new Error('attempt already settled'))
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
    statusMessage?: string,
  ): void {
    if (this.#settled) return
    this.#status = statusCode
    this.#statusText = statusMessage
    this.#retryAfter = headers['retry-after']
    // The attempt keeps the response's status and headers, for steps that read more than the body
    // (a 401 that refreshes a token, Cache-Control, RateLimit).
    this.#state.status = statusCode
    this.#state.responseHeaders = headers
    this.#call.responseHeaders = headers
    const declared = headers['content-length']
    if (declared !== undefined && Number(declared) > this.#config.maxBodyBytes) {
      this.#abortWith(this.#tooLarge())
    }
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return
    if (!this.#body.push(chunk, this.#config.maxBodyBytes)) this.#abortWith(this.#tooLarge())
  }

  onResponseEnd(): void {
    if (this.#settled) return
    const call = this.#call
    const status = this.#status
    const text = isBodyless(status) ? '' : this.#body.text()
    call.responseBytes = this.#body.bytes
    this.#state.responseBytes = this.#body.bytes
    this.#emitResponse()
    // A 304 to our own conditional request is a success: the cache steps that sent the
    // validators answer with the value they keep (RFC 9111 §4.3.4). A caller's own
    // If-None-Match (no stored entry behind it) still gets its 304 as an error, as before.
    if (status === 304 && call.revalidating !== undefined && isConditional(this.#state.headers)) {
      this.#succeed(notModified)
      return
    }
    if (status >= 200 && status < 300) {
      if (text === '') {
        this.#succeed(undefined)
        return
      }
      let value: unknown
      try {
        value = JSON.parse(text)
      } catch (cause) {
        this.fail(
          new InvalidBodyError({
            method: call.method,
            url: call.url,
            attempts: this.#attempt,
            status,
            cause,
          }),
        )
        return
      }
      this.#succeed(value)
      return
    }
    this.fail(
      new UpstreamHttpError({
        method: call.method,
        url: call.url,
        attempts: this.#attempt,
        status,
        statusText: this.#statusText,
        body: parseErrorBody(text),
        retryAfterMs: parseRetryAfter(this.#retryAfter, this.#config.clock.now()),
      }),
    )
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#settled) return
    this.fail(classifyTransportError(error, this.#call, this.#attempt, this.#budgetMs))
  }

  /** Rejects the attempt (once) and reports it to the `onAttemptError` hook. */
  fail(error: UpstreamError): void {
    if (this.#settled) return
    this.#settle()
    const hooks = this.#config.hooks
    // An attempt that lost a hedge race was aborted by the client, not failed by the upstream.
    if (hooks.attemptError.active && !this.#state.superseded) {
      this.#emit(hooks.attemptError, {
        method: this.#call.method,
        url: this.#call.url,
        path: this.#call.path,
        operation: this.#call.operation,
        attempt: this.#attempt,
        durationMs: this.#config.clock.now() - this.#startedAt,
        error,
        requestId: this.#call.requestId,
        call: this.#call,
      })
    }
    this.#reject(error)
  }

  #succeed(value: unknown): void {
    // A busy event loop runs I/O callbacks before due timers: the body can finish arriving (or
    // parsing) after the attempt's budget ran out, with the timeout timer not yet run. That
    // answer is late for the caller, whose deadline has passed; it is a timeout, exactly as if
    // the timer had run first. A write without an idempotency key keeps its success: a timeout
    // would invite the caller to send it again.
    if (this.#call.retrySafe && this.#config.clock.now() - this.#startedAt >= this.#budgetMs) {
      this.fail(this.#timeoutError())
      return
    }
    this.#settle()
    this.#resolve(value)
  }

  #settle(): void {
    this.#settled = true
    this.#config.clock.clearTimeout(this.#timer)
    this.#unsubscribeAbort?.()
  }

  #abortWith(error: UpstreamError): void {
    if (this.#settled) return
    this.fail(error)
    this.#controller?.abort(error)
  }

  #onTimeout(): void {
    this.#abortWith(this.#timeoutError())
  }

  #timeoutError(): UpstreamTimeoutError {
    const call = this.#call
    const byDeadline = this.#budgetMs < call.timeoutMs
    return new UpstreamTimeoutError({
      method: call.method,
      url: call.url,
      attempts: this.#attempt,
      timeoutMs: byDeadline ? call.deadlineMs : this.#budgetMs,
      phase: byDeadline ? 'deadline' : 'attempt',
    })
  }

  #tooLarge(): BodyTooLargeError {
    return new BodyTooLargeError({
      method: this.#call.method,
      url: this.#call.url,
      attempts: this.#attempt,
      status: this.#status,
      limitBytes: this.#config.maxBodyBytes,
    })
  }

  /** Emits in the caller's async context (see `#scope`). */
  #emit<E>(hook: Hook<E>, event: E): void {
    const scope = this.#scope
    if (scope === undefined) hook.emit(event)
    else scope.runInAsyncScope(hook.emit, hook, event)
  }

  #emitResponse(): void {
    const hooks = this.#config.hooks
    if (!hooks.response.active) return
    this.#emit(hooks.response, {
      method: this.#call.method,
      url: this.#call.url,
      path: this.#call.path,
      operation: this.#call.operation,
      attempt: this.#attempt,
      status: this.#status,
      headers: this.#state.responseHeaders ?? {},
      durationMs: this.#config.clock.now() - this.#startedAt,
      requestId: this.#call.requestId,
      call: this.#call,
    })
  }
}

/** Private: whether a request carried a validator, so a `304` answers it. */
function isConditional(headers: Readonly<Record<string, string>>): boolean {
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined
}
