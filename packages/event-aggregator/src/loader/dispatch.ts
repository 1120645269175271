import type { Limiter } from './limiter.js'
import { abortError, type Pending, type Settle, type Task } from './pending.js'
import type { LoadContext } from './types.js'

/** @internal Loads one id with the user's `load`. */
export type LoadFn<V> = (id: string, ctx: LoadContext) => Promise<V>

/** @internal Loads many ids with the user's `batchLoad`; `null` means "load them one by one". */
export type BatchLoadFn<V> = (
  ids: string[],
  ctx: LoadContext,
) => Promise<ReadonlyArray<V | Error> | null>

/** @internal Starts one pending's load on its own, through the window. */
export function createSingleDispatch<V>(
  load: LoadFn<V>,
  limiter: Limiter,
  settle: Settle<V>,
): (p: Pending<V>) => void {
  return (p) => {
    const task: Task = { controller: new AbortController(), wanted: 1 }
    p.task = task
    const signal = task.controller.signal
    limiter
      .run(() => load(p.id, { signal, context: p.context }), signal)
      .then(
        (v) => settle.succeed(p, v),
        (e) => settle.fail(p, e),
      )
  }
}

/** @internal What {@link createBatchDispatch} needs. */
export interface BatchDispatchOptions<V> {
  batchLoad: BatchLoadFn<V>
  /** Loads one pending alone, when `batchLoad` answers `null`; absent without a `load`. */
  single: ((p: Pending<V>) => void) | undefined
  maxBatchSize: number
  limiter: Limiter
  settle: Settle<V>
}

/**
 * @internal The batching part of the loader: queues pendings and, once the current tick's loads
 * were all requested, sends them in batches of at most `maxBatchSize`, each batch one call of
 * `batchLoad` through the window.
 */
export function createBatchDispatch<V>(options: BatchDispatchOptions<V>): (p: Pending<V>) => void {
  const { batchLoad, maxBatchSize, limiter } = options
  let queue: Pending<V>[] = []
  let flushScheduled = false

  const flush = () => {
    flushScheduled = false
    const queued = queue.filter((p) => !p.dropped)
    queue = []
    for (let i = 0; i < queued.length; i += maxBatchSize) {
      const group = queued.slice(i, i + maxBatchSize)
      const task: Task = { controller: new AbortController(), wanted: group.length }
      for (const p of group) p.task = task
      const signal = task.controller.signal
      const ids = group.map((p) => p.id)
      const first = group[0]!
      const context = first.context
      // The batch runs in the async context of the caller of its first id (as it gets that
      // caller's `context`), not in that of whoever scheduled the flush.
      first
        .scope(() => limiter.run(() => batchLoad(ids, { signal, context }), signal))
        .then(
          (values) => settleBatch(group, values, options),
          (e) => {
            for (const p of group) options.settle.fail(p, e)
          },
        )
    }
  }

  return (p) => {
    queue.push(p)
    if (flushScheduled) return
    flushScheduled = true
    // Like DataLoader: wait until the current promise jobs ran, then one more tick, so that
    // loads requested from several async paths of the same tick share a batch.
    resolved.then(() => process.nextTick(flush))
  }
}

/** @internal Settles each pending of a batch with its entry of `batchLoad`'s answer. */
function settleBatch<V>(
  group: Pending<V>[],
  values: ReadonlyArray<V | Error> | null,
  { single, settle }: BatchDispatchOptions<V>,
): void {
  if (values === null && single) {
    for (const p of group) {
      if (p.settled) continue
      // Nobody waits for it any more: do not start a request for it.
      if (!p.pinned && p.interest === 0) settle.fail(p, abortError())
      else single(p)
    }
    return
  }
  if (!Array.isArray(values) || values.length !== group.length) {
    const got = Array.isArray(values) ? `${values.length} entries` : typeof values
    const error = new TypeError(
      `batchLoad must resolve with an array of ${group.length} entries (one per id), got ${got}`,
    )
    for (const p of group) settle.fail(p, error)
    return
  }
  group.forEach((p, j) => {
    const v = values[j] as V | Error
    if (v instanceof Error) settle.fail(p, v)
    else settle.succeed(p, v)
  })
}

/** @internal */
const resolved = Promise.resolve()
