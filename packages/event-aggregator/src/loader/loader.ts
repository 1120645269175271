import { collect } from './collect.js'
import { createBatchDispatch, createSingleDispatch } from './dispatch.js'
import { createInFlight } from './in-flight.js'
import { createLimiter } from './limiter.js'
import { resolveLoaderOptions } from './options.js'
import type { Pending } from './pending.js'
import { loadThroughSharedTier } from './shared-tier.js'
import type { Loader, LoaderOptions } from './types.js'

/**
 * Creates a DataLoader-style loader for any id-keyed resource: a sliding window of at most
 * `concurrency` upstream calls, de-duplicated ids, a per-item TTL cache, coalescing of concurrent
 * requests for the same id (the in-flight promise is shared), optional batching, per-id results,
 * and `AbortSignal` support. A failed load is never cached.
 *
 * @example
 * const events = createLoader<Event>({
 *   load: (id, { signal }) => client.get(`/getEventById/${id}`, { signal }),
 *   concurrency: 50,
 *   cache: { ttlMs: 60_000, max: 10_000 },
 * })
 * const results = await events.loadMany(['1', '2', '2']) // (Event | Error)[], '2' fetched once
 */
export function createLoader<V>(options: LoaderOptions<V>): Loader<V> {
  const resolved = resolveLoaderOptions(options)
  const { load, batchLoad, store, shared } = resolved
  // The parts, each with one job (DataLoader's shape): the cache (`store`), the loads in flight
  // and who waits for them, the window of calls, the batching, and the shared tier in front.
  const limiter = createLimiter(resolved.concurrency, resolved.window)
  const inFlight = createInFlight(store, resolved.useStale, (p) => start(p))
  const single = load ? createSingleDispatch(load, limiter, inFlight) : undefined
  const dispatch = batchLoad
    ? createBatchDispatch({
        batchLoad,
        single,
        maxBatchSize: resolved.maxBatchSize,
        limiter,
        settle: inFlight,
      })
    : single!
  const start = (p: Pending<V>) =>
    shared === undefined ? dispatch(p) : loadThroughSharedTier(shared, p, dispatch, inFlight)
  const deps = { store, inFlight, batched: batchLoad !== undefined }

  const loader: Loader<V> = {
    async load(id, opts) {
      const [result] = await collect(deps, [id], opts?.signal, opts?.context)
      if (result instanceof Error) throw result
      return result as V
    },
    loadMany(ids, opts) {
      return collect(deps, ids, opts?.signal, opts?.context)
    },
    peek(id) {
      return store.getFresh(id)
    },
    clear(id) {
      store.delete(id)
      return loader
    },
    clearAll() {
      store.clear()
      return loader
    },
    prime(id, value) {
      if (store.getFresh(id) === undefined) {
        store.set(id, value)
        if (shared !== undefined)
          void shared.store.set(shared.prefix + id, value, { freshMs: shared.ttlMs })
      }
      return loader
    },
    get stats() {
      return { active: limiter.active, queued: limiter.queued, inFlightIds: inFlight.size }
    },
  }
  return loader
}
