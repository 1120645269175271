import { checks } from '../checks.js'
import { AggregatorValidationError } from '../errors/validation-error.js'
import { integerInRange, optionalObject } from '../validate.js'
import { createValueStore, type ValueStore } from './cache.js'
import type { BatchLoadFn, LoadFn } from './dispatch.js'
import { type SharedTier, sharedTierOptions } from './shared-tier.js'
import type { LoaderOptions } from './types.js'

/** @internal {@link LoaderOptions}, validated (quoting the bad value) and with defaults. */
export interface ResolvedLoaderOptions<V> {
  load: LoadFn<V> | undefined
  batchLoad: BatchLoadFn<V> | undefined
  concurrency: number
  maxBatchSize: number
  window: (() => number) | undefined
  useStale: (error: unknown) => boolean
  /** The per-item cache the `cache` option asks for. */
  store: ValueStore<V>
  shared: SharedTier | undefined
}

/** @internal Validates the options of `createLoader`, in the order a reader checks them. */
export function resolveLoaderOptions<V>(options: LoaderOptions<V>): ResolvedLoaderOptions<V> {
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
  const store = createValueStore<V>(options.cache, staleOption !== false, options.clock)
  if (options.window !== undefined && typeof options.window !== 'function') {
    throw new AggregatorValidationError('window', 'a function', options.window)
  }
  const shared = sharedTierOptions(options)
  return {
    load,
    batchLoad,
    concurrency,
    maxBatchSize,
    window: options.window,
    useStale,
    store,
    shared,
  }
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
