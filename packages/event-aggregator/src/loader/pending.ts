/**
 * @internal The loader's unit of work: one id being loaded, shared by every caller that asks for
 * it meanwhile, and the call of `load` or `batchLoad` that carries it.
 */

/** @internal Runs `fn` in the async context it was bound to (or in the current one). */
export type Scope = <T>(fn: () => T) => T

/** @internal The unbound {@link Scope}. */
export const runInScope: Scope = (fn) => fn()

/** @internal One id being loaded; shared by every caller that asks for it meanwhile. */
export interface Pending<V> {
  id: string
  context: unknown
  /** The async context of the caller who started this load, for a batch formed later. */
  scope: Scope
  promise: Promise<V>
  resolve: (v: V) => void
  reject: (e: unknown) => void
  settled: boolean
  /** Callers with a signal still waiting. */
  interest: number
  /** A caller without a signal waits: never abort. */
  pinned: boolean
  /** Released while still in the batch queue. */
  dropped: boolean
  task: Task | undefined
  /** Set while the shared tier runs this load for the fleet: results go to the store's fetch. */
  sink: { resolve: (v: V) => void; reject: (e: unknown) => void } | undefined
}

/** @internal One call of `load` or `batchLoad`. */
export interface Task {
  controller: AbortController
  /** Pendings of this task someone still waits for. */
  wanted: number
}

/** @internal How a pending ends: the loader's in-flight registry settles it. */
export interface Settle<V> {
  /** The value was loaded; `ttlMs` shortens its cache life (what the shared tier has left). */
  succeed(p: Pending<V>, value: V, ttlMs?: number): void
  /** The load failed (or nobody waits for it any more). */
  fail(p: Pending<V>, error: unknown): void
}

/** @internal A new pending for `id`, with nobody waiting yet and no task. */
export function createPending<V>(id: string, context: unknown, scope: Scope): Pending<V> {
  let resolve!: (v: V) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<V>((res, rej) => {
    resolve = res
    reject = rej
  })
  // Every waiter attaches its own handlers; this one only keeps an abandoned load from
  // being reported as an unhandled rejection.
  promise.catch(noop)
  return {
    id,
    context,
    scope,
    promise,
    resolve,
    reject,
    settled: false,
    interest: 0,
    pinned: false,
    dropped: false,
    task: undefined,
    sink: undefined,
  }
}

/** @internal The error a pending nobody waits for any more fails with. */
export function abortError(): DOMException {
  return new DOMException('Aborted', 'AbortError')
}

/** @internal */
function noop() {}
