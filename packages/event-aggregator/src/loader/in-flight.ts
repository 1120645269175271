import type { ValueStore } from './cache.js'
import { isNoStore } from './no-store.js'
import { createPending, type Pending, type Scope, type Settle } from './pending.js'

/**
 * @internal The loads in flight, one per id (DataLoader's promise cache): who waits for each,
 * and how each ends. A settled load leaves the registry and its value goes to the cache.
 */
export interface InFlight<V> extends Settle<V> {
  /** Ids being loaded now. */
  readonly size: number
  /** Finds the pending for `id` or creates and starts one; registers one caller's interest. */
  acquire(id: string, cancellable: boolean, context: unknown, scope: Scope): Pending<V>
  /**
   * A caller stopped waiting for `p`. When nobody waits for any id of its task, the task's own
   * signal aborts so the HTTP request is cancelled (or never starts, if it was still queued).
   * The pending leaves the registry at once: a later caller must not join a request being aborted.
   */
  release(p: Pending<V>, reason: unknown): void
}

/**
 * @internal Creates the registry over the loader's cache. `start` sends a new pending on its way
 * (shared tier, batch queue or a single load); `useStale` decides per error whether an expired
 * cached value answers instead.
 */
export function createInFlight<V>(
  store: ValueStore<V>,
  useStale: (error: unknown) => boolean,
  start: (p: Pending<V>) => void,
): InFlight<V> {
  const pendings = new Map<string, Pending<V>>()
  const leave = (p: Pending<V>) => {
    if (pendings.get(p.id) === p) pendings.delete(p.id)
  }

  const succeed = (p: Pending<V>, value: V, ttlMs?: number) => {
    // The shared tier's fetch: it keeps a no-store value out of the store (`store: false`).
    if (p.sink !== undefined) return p.sink.resolve(value)
    if (p.settled) return
    p.settled = true
    leave(p)
    if (!isNoStore(value)) store.set(p.id, value, ttlMs)
    p.resolve(value)
  }

  const fail = (p: Pending<V>, error: unknown) => {
    if (p.sink !== undefined) return p.sink.reject(error)
    if (p.settled) return
    p.settled = true
    leave(p)
    if (useStale(error)) {
      const stale = store.getStale(p.id)
      if (stale !== undefined) {
        p.resolve(stale)
        return
      }
    }
    // DataLoader semantics: a failure is never cached, so the next call retries.
    store.delete(p.id)
    p.reject(error)
  }

  const release = (p: Pending<V>, reason: unknown) => {
    if (p.settled || p.pinned) return
    if (--p.interest > 0) return
    leave(p)
    const task = p.task
    if (task === undefined) {
      // Still in the batch queue or waiting on the shared tier: drop it there. The shared tier's
      // fetch (if it was ours to run) fails too, so its lease is released at once.
      p.dropped = true
      const sink = p.sink
      p.sink = undefined
      sink?.reject(reason)
      fail(p, reason)
      return
    }
    if (--task.wanted === 0) task.controller.abort(reason)
  }

  const acquire = (id: string, cancellable: boolean, context: unknown, scope: Scope) => {
    let p = pendings.get(id)
    if (p === undefined) {
      p = createPending<V>(id, context, scope)
      pendings.set(id, p)
      start(p)
    }
    if (cancellable) p.interest++
    else p.pinned = true
    return p
  }

  return {
    succeed,
    fail,
    release,
    acquire,
    get size() {
      return pendings.size
    },
  }
}
