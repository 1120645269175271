import { AsyncResource } from 'node:async_hooks'
import { isSharedStore, type SharedStore } from '@userevents/upstream-client'
import { checks } from '../checks.js'
import { AggregatorValidationError } from '../errors/validation-error.js'
import { integerInRange, optionalObject } from '../validate.js'
import {
  type CacheMap,
  type Clock,
  createValueStore,
  type LoaderCacheOptions,
  type ValueStore,
} from './cache.js'
import { createLimiter } from './limiter.js'

/** What the loader passes to your load functions. */
export interface LoadContext {
  /**
   * Aborts when no caller is waiting for the result any more (every caller that asked for these
   * ids aborted). Pass it on to your HTTP client.
   */
  signal: AbortSignal
  /**
   * The `context` given by the caller whose request started this load (for a batch, by the
   * caller of its first id); e.g. a request id for log correlation. Coalesced callers share it.
   */
  context: unknown
}

/** Options of {@link createLoader}. Give `load`, `batchLoad`, or both (then `batchLoad` is used). */
export interface LoaderOptions<V> {
  /** Loads one id. Called at most `concurrency` times at once. */
  load?: (id: string, ctx: LoadContext) => Promise<V>
  /**
   * Loads up to `maxBatchSize` ids in one call and returns one entry per id, in the same order:
   * the value, or an `Error` for that id. Rejecting fails every id of the batch. Resolving with
   * `null` means "no batch for these ids": they are loaded one by one with `load` instead (each
   * through the same concurrency window), e.g. when the upstream turns out to lack a batch route.
   */
  batchLoad?: (ids: string[], ctx: LoadContext) => Promise<ReadonlyArray<V | Error> | null>
  /** The most ids per `batchLoad` call. Default 100. */
  maxBatchSize?: number
  /** The most `load`/`batchLoad` calls in flight at once, as a sliding window. Default 50. */
  concurrency?: number
  /**
   * A window that moves: read before each call starts, it sets the window to its value (at
   * least 1, at most `concurrency`). The aggregator passes the upstream client's adaptive
   * concurrency limit here. Default: the window is `concurrency`.
   */
  window?: () => number
  /**
   * Per-item cache of loaded values: `{ ttlMs, max }` for the built-in LRU (default
   * `{ ttlMs: 60_000, max: 10_000 }`), any `get/set/delete/clear` map, or `false` for none.
   * In-flight coalescing is always on, whatever this says.
   */
  cache?: LoaderCacheOptions | CacheMap<string, V> | false
  /**
   * When a load fails and an expired value is still cached, resolve with it instead of failing.
   * A function decides per error (e.g. not for a 404). Default `false`.
   */
  staleIfError?: boolean | ((error: unknown) => boolean)
  /** Clock read by the built-in cache's TTL; inject one in tests. Default `performance`. */
  clock?: Clock
  /**
   * A tier shared by every replica (e.g. `createRedisStore()` from `@userevents/redis`) behind
   * the built-in cache, which it needs (its `ttlMs` is used on both tiers). A local miss asks the
   * store; an id missing there too is loaded once across the fleet (the other replicas wait for
   * its value). When the store is degraded, loads run here as without it. Default none.
   */
  store?: SharedStore
  /** Prefix of this loader's keys in `store`, so loaders of different things can share one. Default `"loader"`. */
  storeNamespace?: string
}

/** Per-call options of {@link Loader.load} and {@link Loader.loadMany}. */
export interface LoadOptions {
  /**
   * Stops waiting: the call rejects with `signal.reason`. The underlying request is aborted only
   * when no other caller is waiting for the same id.
   */
  signal?: AbortSignal
  /** Passed to your load functions as `ctx.context` when this call starts a load. */
  context?: unknown
}

/** A DataLoader-style loader; see {@link createLoader}. */
export interface Loader<V> {
  /** Loads one id: from the cache, a load already in flight, or a new call. Rejects on failure. */
  load(id: string, options?: LoadOptions): Promise<V>
  /**
   * Loads many ids (duplicates fetched once) and resolves with one entry per id, in order: the
   * value, or the `Error` for that id. It never rejects for a single id; it rejects only on abort.
   */
  loadMany(ids: readonly string[], options?: LoadOptions): Promise<Array<V | Error>>
  /** Forgets the cached value of one id. */
  clear(id: string): Loader<V>
  /** Forgets every cached value. */
  clearAll(): Loader<V>
  /** Caches a value for an id unless one is cached already (DataLoader semantics). */
  prime(id: string, value: V): Loader<V>
  /** Calls of `load`/`batchLoad` running now and waiting for a slot. */
  readonly stats: { active: number; queued: number; inFlightIds: number }
}

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
  optionalObject('options', options)
  // `?? {}`: an absent options object fails below, as before, on the missing `load`.
  checks.rejectUnknown('', options ?? {}, LOADER_OPTIONS)
  const { load, batchLoad } = options
  if (load !== undefined && typeof load !== 'function') {
    throw new AggregatorValidationError('load', 'a function', load)
  }
  if (batchLoad !== undefined && typeof batchLoad !== 'function') {
    throw new AggregatorValidationError('batchLoad', 'a function', batchLoad)
  }
  if (!load && !batchLoad) {
    throw new AggregatorValidationError('load', 'a function (or give `batchLoad`)', load)
  }
  const concurrency = integerInRange(
    'concurrency',
    options.concurrency ?? 50,
    1,
    Number.MAX_SAFE_INTEGER,
  )
  const maxBatchSize = integerInRange(
    'maxBatchSize',
    options.maxBatchSize ?? 100,
    1,
    Number.MAX_SAFE_INTEGER,
  )
  const staleOption = options.staleIfError ?? false
  if (typeof staleOption !== 'boolean' && typeof staleOption !== 'function') {
    throw new AggregatorValidationError('staleIfError', 'a boolean or a function', staleOption)
  }
  const useStale =
    typeof staleOption === 'function' ? staleOption : (_error: unknown) => staleOption
  const store: ValueStore<V> = createValueStore<V>(
    options.cache,
    staleOption !== false,
    options.clock,
  )
  if (options.window !== undefined && typeof options.window !== 'function') {
    throw new AggregatorValidationError('window', 'a function', options.window)
  }
  const shared = sharedOptions(options)
  const limiter = createLimiter(concurrency, options.window)
  const inFlight = new Map<string, Pending<V>>()
  let batchQueue: Pending<V>[] = []
  let flushScheduled = false

  // --- settling -----------------------------------------------------------------------------

  const succeed = (p: Pending<V>, value: V, ttlMs?: number) => {
    if (p.sink !== undefined) return p.sink.resolve(value)
    if (p.settled) return
    p.settled = true
    if (inFlight.get(p.id) === p) inFlight.delete(p.id)
    store.set(p.id, value, ttlMs)
    p.resolve(value)
  }

  const fail = (p: Pending<V>, error: unknown) => {
    if (p.sink !== undefined) return p.sink.reject(error)
    if (p.settled) return
    p.settled = true
    if (inFlight.get(p.id) === p) inFlight.delete(p.id)
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

  // --- interest (who still waits) -------------------------------------------------------------

  /**
   * A caller stopped waiting for `p`. When nobody waits for any id of its task, the task's own
   * signal aborts so the HTTP request is cancelled (or never starts, if it was still queued).
   * The pending leaves `inFlight` at once: a later caller must not join a request being aborted.
   */
  const release = (p: Pending<V>, reason: unknown) => {
    if (p.settled || p.pinned) return
    if (--p.interest > 0) return
    if (inFlight.get(p.id) === p) inFlight.delete(p.id)
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

  // --- dispatch -----------------------------------------------------------------------------

  const startSingle = (p: Pending<V>) => {
    const task: Task = { controller: new AbortController(), wanted: 1 }
    p.task = task
    const signal = task.controller.signal
    limiter
      .run(() => load!(p.id, { signal, context: p.context }), signal)
      .then(
        (v) => succeed(p, v),
        (e) => fail(p, e),
      )
  }

  const flushBatches = () => {
    flushScheduled = false
    const queued = batchQueue.filter((p) => !p.dropped)
    batchQueue = []
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
        .scope(() => limiter.run(() => batchLoad!(ids, { signal, context }), signal))
        .then(
          (values) => {
            if (values === null && load) {
              for (const p of group) {
                if (p.settled) continue
                // Nobody waits for it any more: do not start a request for it.
                if (!p.pinned && p.interest === 0)
                  fail(p, new DOMException('Aborted', 'AbortError'))
                else startSingle(p)
              }
              return
            }
            if (!Array.isArray(values) || values.length !== ids.length) {
              const got = Array.isArray(values) ? `${values.length} entries` : typeof values
              const error = new TypeError(
                `batchLoad must resolve with an array of ${ids.length} entries (one per id), got ${got}`,
              )
              for (const p of group) fail(p, error)
              return
            }
            group.forEach((p, j) => {
              const v = values[j] as V | Error
              if (v instanceof Error) fail(p, v)
              else succeed(p, v)
            })
          },
          (e) => {
            for (const p of group) fail(p, e)
          },
        )
    }
  }

  /**
   * With a shared store, the pending first goes through `store.load`: a hit there settles it;
   * when this replica wins the fleet-wide lease, `fetch` dispatches it as usual (batched or
   * single) and the store keeps the value. Until then the pending's results go to its `sink`.
   */
  const enqueue = (p: Pending<V>) => {
    if (shared === undefined) return dispatch(p)
    shared.store
      .load<V>(
        shared.prefix + p.id,
        () =>
          new Promise<V>((resolve, reject) => {
            if (p.dropped) return reject(new DOMException('Aborted', 'AbortError'))
            p.sink = { resolve, reject }
            dispatch(p)
          }),
        { ttlMs: shared.ttlMs },
      )
      .then(
        (result) => {
          p.sink = undefined
          succeed(p, result.value, result.source === 'store' ? result.ttlMs : undefined)
        },
        (error: unknown) => {
          p.sink = undefined
          fail(p, error)
        },
      )
  }

  const dispatch = (p: Pending<V>) => {
    if (!batchLoad) {
      startSingle(p)
      return
    }
    batchQueue.push(p)
    if (flushScheduled) return
    flushScheduled = true
    // Like DataLoader: wait until the current promise jobs ran, then one more tick, so that
    // loads requested from several async paths of the same tick share a batch.
    resolved.then(() => process.nextTick(flushBatches))
  }

  /** Finds the in-flight pending for `id` or creates one, and registers one caller's interest. */
  const acquire = (
    id: string,
    cancellable: boolean,
    context: unknown,
    scope: Scope,
  ): Pending<V> => {
    let p = inFlight.get(id)
    if (p === undefined) {
      let resolve!: (v: V) => void
      let reject!: (e: unknown) => void
      const promise = new Promise<V>((res, rej) => {
        resolve = res
        reject = rej
      })
      // Every waiter attaches its own handlers; this one only keeps an abandoned load from
      // being reported as an unhandled rejection.
      promise.catch(noop)
      p = {
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
      inFlight.set(id, p)
      enqueue(p)
    }
    if (cancellable) p.interest++
    else p.pinned = true
    return p
  }

  /**
   * Resolves every id to a settled result. One abort listener per call (not per id): thousands of
   * listeners on one signal would trip Node's listener-leak warning.
   */
  const collect = (ids: readonly string[], signal: AbortSignal | undefined, context: unknown) => {
    if (!Array.isArray(ids)) {
      return Promise.reject(new AggregatorValidationError('ids', 'an array of strings', ids))
    }
    if (signal?.aborted) return Promise.reject(signal.reason)
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
        for (const p of held) release(p, signal!.reason)
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
        scope ??= batchLoad ? (AsyncResource.bind(runInScope) as Scope) : runInScope
        const p = acquire(id, signal !== undefined, context, scope)
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

  const loader: Loader<V> = {
    async load(id, opts) {
      const [result] = await collect([id], opts?.signal, opts?.context)
      if (result instanceof Error) throw result
      return result as V
    },
    loadMany(ids, opts) {
      return collect(ids, opts?.signal, opts?.context)
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
        if (shared !== undefined) void shared.store.set(shared.prefix + id, value, shared.ttlMs)
      }
      return loader
    },
    get stats() {
      return { active: limiter.active, queued: limiter.queued, inFlightIds: inFlight.size }
    },
  }
  return loader
}

/** @internal The keys of {@link LoaderOptions}; any other is a mistake. */
const LOADER_OPTIONS = [
  'load',
  'batchLoad',
  'maxBatchSize',
  'concurrency',
  'window',
  'cache',
  'staleIfError',
  'clock',
  'store',
  'storeNamespace',
]

/** @internal Runs `fn` in the async context it was bound to (or in the current one). */
type Scope = <T>(fn: () => T) => T

/** @internal The unbound {@link Scope}. */
const runInScope: Scope = (fn) => fn()

/** @internal One id being loaded; shared by every caller that asks for it meanwhile. */
interface Pending<V> {
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
interface Task {
  controller: AbortController
  /** Pendings of this task someone still waits for. */
  wanted: number
}

/** @internal */
const resolved = Promise.resolve()

/** @internal */
function noop() {}

/** @internal Validates `store` and `storeNamespace`; the shared tier reuses the built-in cache's TTL. */
function sharedOptions<V>(
  options: LoaderOptions<V>,
): { store: SharedStore; prefix: string; ttlMs: number } | undefined {
  const { store, storeNamespace = 'loader', cache } = options
  if (typeof storeNamespace !== 'string' || storeNamespace === '') {
    throw new AggregatorValidationError('storeNamespace', 'a non-empty string', storeNamespace)
  }
  if (store === undefined) return undefined
  if (!isSharedStore(store)) {
    throw new AggregatorValidationError(
      'store',
      'a SharedStore (e.g. createRedisStore() from @userevents/redis)',
      store,
    )
  }
  if (
    cache !== undefined &&
    (cache === false || typeof (cache as { ttlMs?: unknown }).ttlMs !== 'number')
  ) {
    throw new AggregatorValidationError(
      'cache',
      'the built-in `{ ttlMs, max }` cache when `store` is given (the shared tier uses its ttlMs)',
      cache === false ? false : '[cache map]',
    )
  }
  return {
    store,
    prefix: `${storeNamespace}:`,
    ttlMs: (cache as LoaderCacheOptions | undefined)?.ttlMs ?? 60_000,
  }
}
