import { describe, expect, it } from 'vitest'
import {
  AggregatorValidationError,
  createLoader,
  isAggregatorErrorCode,
  type LoadContext,
} from '../src/index.js'

/** A promise we settle by hand, to control exactly when a load finishes. */
function deferred<T>() {
  let resolve!: (v: T) => void
  let reject!: (e: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}

/** Lets queued promise jobs and nextTick callbacks run. */
const flush = () => new Promise<void>((r) => setImmediate(r))

/** A load function that records its calls and answers `v:<id>` (or fails for ids in `failing`). */
function recorder(failing: Set<string> = new Set()) {
  const calls: string[] = []
  const load = async (id: string) => {
    calls.push(id)
    if (failing.has(id)) throw new Error(`boom ${id}`)
    return `v:${id}`
  }
  return { calls, load }
}

describe('createLoader', () => {
  it('returns one result per id, in order, with an Error for the failing id only', async () => {
    const { calls, load } = recorder(new Set(['b']))
    const loader = createLoader({ load })
    const results = await loader.loadMany(['a', 'b', 'c'])
    expect(results[0]).toBe('v:a')
    expect(results[1]).toBeInstanceOf(Error)
    expect((results[1] as Error).message).toBe('boom b')
    expect(results[2]).toBe('v:c')
    expect(calls).toEqual(['a', 'b', 'c'])
    await expect(loader.load('b')).rejects.toThrow('boom b')
  })

  it('de-duplicates ids within one call', async () => {
    const { calls, load } = recorder()
    const loader = createLoader({ load, cache: false })
    expect(await loader.loadMany(['a', 'a', 'b', 'a'])).toEqual(['v:a', 'v:a', 'v:b', 'v:a'])
    expect(calls).toEqual(['a', 'b'])
  })

  it('coalesces concurrent callers onto the in-flight promise, even without a cache', async () => {
    const gate = deferred<string>()
    let calls = 0
    const loader = createLoader({
      load: () => {
        calls++
        return gate.promise
      },
      cache: false,
    })
    const first = loader.load('a')
    const second = loader.loadMany(['a', 'a'])
    gate.resolve('A')
    expect(await first).toBe('A')
    expect(await second).toEqual(['A', 'A'])
    expect(calls).toBe(1)
    // Nothing cached: once settled, the next load calls again.
    await loader.load('a')
    expect(calls).toBe(2)
  })

  it('serves cached values until the TTL expires (injected clock)', async () => {
    const { calls, load } = recorder()
    let now = 1_000
    const loader = createLoader({ load, cache: { ttlMs: 100, max: 10 }, clock: { now: () => now } })
    await loader.load('a')
    now += 99
    await loader.loadMany(['a'])
    expect(calls).toEqual(['a'])
    now += 2
    await loader.load('a')
    expect(calls).toEqual(['a', 'a'])
  })

  it('bounds the cache with LRU eviction', async () => {
    const { calls, load } = recorder()
    const loader = createLoader({ load, cache: { ttlMs: 60_000, max: 2 } })
    await loader.loadMany(['a', 'b', 'c']) // 'a' evicted
    await loader.loadMany(['b', 'c', 'a'])
    expect(calls).toEqual(['a', 'b', 'c', 'a'])
  })

  it('never caches a failure: the next load tries again', async () => {
    let fail = true
    let calls = 0
    const loader = createLoader({
      load: async (id) => {
        calls++
        if (fail) throw new Error('down')
        return id
      },
    })
    await expect(loader.load('a')).rejects.toThrow('down')
    fail = false
    expect(await loader.load('a')).toBe('a')
    expect(calls).toBe(2)
  })

  it('serves an expired value when a reload fails, only with staleIfError', async () => {
    let now = 0
    let fail = false
    const load = async (id: string) => {
      if (fail) throw new Error('down')
      return `v:${id}`
    }
    const clock = { now: () => now }
    const stale = createLoader({ load, cache: { ttlMs: 10 }, staleIfError: true, clock })
    const strict = createLoader({ load, cache: { ttlMs: 10 }, clock })
    await stale.load('a')
    await strict.load('a')
    now = 50
    fail = true
    expect(await stale.load('a')).toBe('v:a')
    await expect(strict.load('a')).rejects.toThrow('down')
    // A predicate decides per error.
    const picky = createLoader({
      load,
      cache: { ttlMs: 10 },
      staleIfError: (e) => (e as Error).message !== 'down',
      clock,
    })
    fail = false
    now = 0
    await picky.load('a')
    now = 50
    fail = true
    await expect(picky.load('a')).rejects.toThrow('down')
  })

  it('keeps at most `concurrency` loads in flight as a sliding window, not in chunks', async () => {
    const gates = new Map<string, ReturnType<typeof deferred<string>>>()
    const started: string[] = []
    let active = 0
    let highWater = 0
    const loader = createLoader({
      concurrency: 3,
      cache: false,
      load: async (id) => {
        started.push(id)
        active++
        highWater = Math.max(highWater, active)
        const gate = deferred<string>()
        gates.set(id, gate)
        try {
          return await gate.promise
        } finally {
          active--
        }
      },
    })
    const ids = ['1', '2', '3', '4', '5', '6', '7']
    const all = loader.loadMany(ids)
    await flush()
    expect(started).toEqual(['1', '2', '3'])
    expect(loader.stats).toMatchObject({ active: 3, queued: 4 })
    // '1' and '3' still pending: a chunked Promise.all would wait for them; the window does not.
    gates.get('2')!.resolve('2')
    await flush()
    expect(started).toEqual(['1', '2', '3', '4'])
    gates.get('4')!.resolve('4')
    await flush()
    expect(started).toEqual(['1', '2', '3', '4', '5'])
    for (const id of ids) {
      gates.get(id)?.resolve(id)
      await flush()
    }
    for (const id of ids) gates.get(id)?.resolve(id)
    expect(await all).toEqual(ids)
    expect(highWater).toBe(3)
  })

  it('shares the concurrency window across callers', async () => {
    let active = 0
    let highWater = 0
    const loader = createLoader({
      concurrency: 4,
      cache: false,
      load: async (id) => {
        active++
        highWater = Math.max(highWater, active)
        await flush()
        active--
        return id
      },
    })
    const a = Array.from({ length: 20 }, (_, i) => `a${i}`)
    const b = Array.from({ length: 20 }, (_, i) => `b${i}`)
    const [ra, rb] = await Promise.all([loader.loadMany(a), loader.loadMany(b)])
    expect(ra).toEqual(a)
    expect(rb).toEqual(b)
    expect(highWater).toBe(4)
  })

  it('batches ids up to maxBatchSize, with per-id errors and a length check', async () => {
    const batches: string[][] = []
    const loader = createLoader<string>({
      maxBatchSize: 2,
      batchLoad: async (ids) => {
        batches.push(ids)
        return ids.map((id) => (id === 'x' ? new Error('no x') : `v:${id}`))
      },
    })
    const results = await loader.loadMany(['a', 'b', 'x', 'd', 'e'])
    expect(batches).toEqual([['a', 'b'], ['x', 'd'], ['e']])
    expect(results.map((r) => (r instanceof Error ? r.message : r))).toEqual([
      'v:a',
      'v:b',
      'no x',
      'v:d',
      'v:e',
    ])
    // Separate load() calls of the same tick share one batch.
    const [f, g] = await Promise.all([loader.load('f'), loader.load('g')])
    expect([f, g]).toEqual(['v:f', 'v:g'])
    expect(batches.at(-1)).toEqual(['f', 'g'])

    const broken = createLoader<string>({ batchLoad: async () => ['only one'] })
    const out = await broken.loadMany(['a', 'b'])
    expect((out[0] as Error).message).toMatch(/array of 2 entries \(one per id\), got 1 entries/)
  })

  it('falls back to single loads when batchLoad resolves null', async () => {
    const { calls, load } = recorder()
    let batchCalls = 0
    const loader = createLoader({
      load,
      batchLoad: async () => {
        batchCalls++
        return null
      },
    })
    expect(await loader.loadMany(['a', 'b'])).toEqual(['v:a', 'v:b'])
    expect(batchCalls).toBe(1)
    expect(calls).toEqual(['a', 'b'])
  })

  it('rejects on abort with the reason and cancels the load nobody else waits for', async () => {
    const signals: AbortSignal[] = []
    const loader = createLoader({
      cache: false,
      load: (_id: string, ctx: LoadContext) => {
        signals.push(ctx.signal)
        return new Promise<string>((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        )
      },
    })
    const controller = new AbortController()
    const pending = loader.loadMany(['a', 'b'], { signal: controller.signal })
    await flush()
    controller.abort(new Error('client went away'))
    await expect(pending).rejects.toThrow('client went away')
    expect(signals.map((s) => s.aborted)).toEqual([true, true])
    expect(loader.stats.inFlightIds).toBe(0)
    // An already aborted signal rejects at once without loading.
    await expect(loader.load('c', { signal: controller.signal })).rejects.toThrow(
      'client went away',
    )
    expect(signals).toHaveLength(2)
  })

  it('keeps a shared load running while another caller still waits', async () => {
    const gate = deferred<string>()
    let loadSignal: AbortSignal | undefined
    const loader = createLoader({
      load: (_id: string, ctx: LoadContext) => {
        loadSignal = ctx.signal
        return gate.promise
      },
    })
    const a = new AbortController()
    const first = loader.load('k', { signal: a.signal })
    const second = loader.load('k', { signal: new AbortController().signal })
    await flush()
    a.abort()
    await expect(first).rejects.toMatchObject({ name: 'AbortError' })
    expect(loadSignal?.aborted).toBe(false)
    gate.resolve('K')
    expect(await second).toBe('K')
  })

  it('never starts a queued load whose only caller aborted', async () => {
    const started: string[] = []
    const gate = deferred<string>()
    const loader = createLoader({
      concurrency: 1,
      cache: false,
      load: (id: string) => {
        started.push(id)
        return gate.promise
      },
    })
    const first = loader.load('a')
    const controller = new AbortController()
    const second = loader.load('b', { signal: controller.signal })
    await flush()
    controller.abort()
    await expect(second).rejects.toMatchObject({ name: 'AbortError' })
    gate.resolve('A')
    expect(await first).toBe('A')
    await flush()
    expect(started).toEqual(['a'])
    expect(loader.stats).toEqual({ active: 0, queued: 0, inFlightIds: 0 })
  })

  it('accepts any get/set/delete/clear map, and supports prime/clear/clearAll', async () => {
    const { calls, load } = recorder()
    const map = new Map<string, string>()
    const loader = createLoader({ load, cache: map })
    loader.prime('p', 'primed')
    expect(await loader.load('p')).toBe('primed')
    await loader.load('a')
    expect(map.get('a')).toBe('v:a')
    loader.prime('a', 'ignored') // prime never overwrites
    expect(await loader.load('a')).toBe('v:a')
    // peek: the cached value or undefined, never a load
    expect(loader.peek('a')).toBe('v:a')
    expect(loader.peek('never')).toBeUndefined()
    loader.clear('a')
    await loader.load('a')
    loader.clearAll()
    expect(map.size).toBe(0)
    expect(calls).toEqual(['a', 'a'])
  })

  it('passes the starting caller\u2019s context to the load function', async () => {
    const seen: unknown[] = []
    const loader = createLoader({
      load: async (id: string, ctx: LoadContext) => {
        seen.push(ctx.context)
        return id
      },
    })
    await loader.load('a', { context: 'req-1' })
    expect(seen).toEqual(['req-1'])
  })

  it('validates options and arguments, quoting the bad value', async () => {
    const load = async (id: string) => id
    expect(() => createLoader({ load, concurrency: 0 })).toThrow(
      'Expected `concurrency` to be an integer >= 1, got 0',
    )
    expect(() => createLoader({ load, cache: { ttlMs: -5 } })).toThrow(
      'Expected `cache.ttlMs` to be a finite number > 0, got -5',
    )
    expect(() => createLoader({ load, maxBatchSize: 1.5 })).toThrow(
      'Expected `maxBatchSize` to be an integer >= 1, got 1.5',
    )
    expect(() => createLoader({})).toThrow(AggregatorValidationError)
    expect(() => createLoader({ load, concurency: 5 } as never)).toThrow(
      'Unknown option `concurency`; expected one of load, batchLoad, maxBatchSize, concurrency, window, cache, staleIfError, clock, store, storeNamespace',
    )
    const loader = createLoader({ load })
    const [bad] = await loader.loadMany([42 as unknown as string])
    expect(isAggregatorErrorCode(bad, 'INVALID_ARGUMENT')).toBe(true)
    expect((bad as Error).message).toBe('Expected `ids[0]` to be a string, got 42')
  })
})
