import { AsyncResource } from 'node:async_hooks'
import { AggregatorValidationError } from '../errors/validation-error.js'
import type { ValueStore } from './cache.js'
import type { InFlight } from './in-flight.js'
import { type Pending, runInScope, type Scope } from './pending.js'

/** @internal What {@link collect} reads: the cache, the loads in flight, whether loads batch. */
export interface CollectDeps<V> {
  store: ValueStore<V>
  inFlight: InFlight<V>
  /** Batches are formed on a later tick: a caller's async context must then be captured. */
  batched: boolean
}

/**
 * @internal Resolves every id of one caller to a settled result: a fresh cached value, or the
 * (shared) load in flight. One abort listener per call (not per id): thousands of listeners on
 * one signal would trip Node's listener-leak warning.
 */
export function collect<V>(
  deps: CollectDeps<V>,
  ids: readonly string[],
  signal: AbortSignal | undefined,
  context: unknown,
): Promise<Array<V | Error>> {
  if (!Array.isArray(ids)) {
    return Promise.reject(new AggregatorValidationError('ids', 'an array of strings', ids))
  }
  if (signal?.aborted) return Promise.reject(signal.reason)
  const { store, inFlight, batched } = deps
  return new Promise<Array<V | Error>>((resolve, reject) => {
    const results = new Array<V | Error>(ids.length)
    const held: Pending<V>[] = []
    // Batches are formed later, on the next tick, from the ids of several callers: capture
    // this caller's async context once for all its ids. Single loads start right here.
    let scope: Scope | undefined
    let remaining = 0
    let done = false
    // Only a call that waits for a load listens on the signal (every id cached: no listener).
    let listening = false
    const finish = () => {
      done = true
      if (listening) signal?.removeEventListener('abort', onAbort)
      resolve(results)
    }
    const onAbort = () => {
      if (done) return
      done = true
      for (const p of held) inFlight.release(p, signal!.reason)
      reject(signal!.reason)
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]
      if (typeof id !== 'string') {
        results[i] = new AggregatorValidationError(`ids[${i}]`, 'a string', id)
        continue
      }
      const fresh = store.getFresh(id)
      if (fresh !== undefined) {
        results[i] = fresh
        continue
      }
      scope ??= batched ? (AsyncResource.bind(runInScope) as Scope) : runInScope
      const p = inFlight.acquire(id, signal !== undefined, context, scope)
      held.push(p)
      remaining++
      p.promise
        .then(
          (v) => {
            results[i] = v
          },
          (e: unknown) => {
            results[i] = e instanceof Error ? e : new Error(String(e))
          },
        )
        .finally(() => {
          if (--remaining === 0 && !done) finish()
        })
    }
    if (remaining === 0) finish()
    else if (signal !== undefined) {
      listening = true
      signal.addEventListener('abort', onAbort, { once: true })
    }
  })
}
