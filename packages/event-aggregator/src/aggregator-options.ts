import type {
  AggregatorClient,
  BatchRouteOptions,
  EventAggregatorOptions,
} from './aggregator-types.js'
import { checks } from './checks.js'
import { AggregatorValidationError } from './errors/validation-error.js'
import { type LoaderCacheOptions, validateCacheOption } from './loader/cache.js'
import { integerInRange, optionalObject } from './validate.js'

/** @internal {@link EventAggregatorOptions}, validated (quoting the bad value) and with defaults. */
export interface ResolvedAggregatorOptions {
  client: AggregatorClient
  maxLimit: number
  defaultLimit: number
  concurrency: number
  staleIfError: boolean
  batch: { path: string; maxIds: number } | false
}

/** @internal Validates the options of `createEventAggregator`, before anything is created. */
export function resolveAggregatorOptions(
  options: EventAggregatorOptions,
): ResolvedAggregatorOptions {
  optionalObject('options', options)
  if (options === undefined) throw new AggregatorValidationError('options', 'an object', options)
  checks.rejectUnknown('', options, AGGREGATOR_OPTIONS)
  const { client } = options
  if (typeof client !== 'object' || client === null || typeof client.get !== 'function') {
    throw new AggregatorValidationError('client', 'an object with a `get` method', client)
  }
  const maxLimit = integerInRange('maxLimit', options.maxLimit ?? 200, 1, Number.MAX_SAFE_INTEGER)
  const defaultLimit = integerInRange('defaultLimit', options.defaultLimit ?? 50, 1, maxLimit)
  const concurrency = integerInRange(
    'concurrency',
    options.concurrency ?? 50,
    1,
    Number.MAX_SAFE_INTEGER,
  )
  if (client.limit !== undefined && typeof client.limit !== 'function') {
    throw new AggregatorValidationError('client.limit', 'a function', client.limit)
  }
  const staleIfError = options.staleIfError ?? false
  if (typeof staleIfError !== 'boolean') {
    throw new AggregatorValidationError('staleIfError', 'a boolean', staleIfError)
  }
  const batch = batchOptions(options.batch)
  validateCacheOption('cache', options.cache)
  validateCacheOption('userCache', options.userCache)
  if (options.store !== undefined) sharedCachesOptions(options)
  return { client, maxLimit, defaultLimit, concurrency, staleIfError, batch }
}

/** @internal The keys of {@link EventAggregatorOptions}; any other is a mistake. */
const AGGREGATOR_OPTIONS = [
  'client',
  'concurrency',
  'cache',
  'userCache',
  'batch',
  'defaultLimit',
  'maxLimit',
  'staleIfError',
  'clock',
  'store',
]

/** @internal Validates `batch` and fills its defaults. */
function batchOptions(
  batch: BatchRouteOptions | false | undefined,
): { path: string; maxIds: number } | false {
  if (batch === undefined || batch === false) return false
  optionalObject('batch', batch)
  checks.rejectUnknown('batch.', batch, ['path', 'maxIds'])
  const path = batch.path ?? '/getEventsByIds'
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new AggregatorValidationError('batch.path', 'a path starting with "/"', path)
  }
  const maxIds = integerInRange('batch.maxIds', batch.maxIds ?? 100, 1, Number.MAX_SAFE_INTEGER)
  return { path, maxIds }
}

/** @internal With a `store`, each cache must be the built-in one (its ttlMs is the tier's) or off. */
function sharedCachesOptions(options: EventAggregatorOptions): void {
  for (const [field, cache] of [
    ['cache', options.cache],
    ['userCache', options.userCache],
  ] as const) {
    if (
      cache !== undefined &&
      cache !== false &&
      typeof (cache as LoaderCacheOptions).ttlMs !== 'number'
    ) {
      throw new AggregatorValidationError(
        field,
        'the built-in `{ ttlMs, max }` cache or `false` when `store` is given (the shared tier uses its ttlMs)',
        '[cache map]',
      )
    }
  }
}
