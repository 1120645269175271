import { isSharedStore, type SharedStore } from '@userevents/upstream-client'
import { AggregatorValidationError } from '../errors/validation-error.js'
import type { LoaderCacheOptions } from './cache.js'
import { NotShareable } from './no-store.js'
import { abortError, type Pending, type Settle } from './pending.js'
import type { LoaderOptions } from './types.js'

/** @internal The loader's shared tier, resolved: the store, its key prefix and the TTL. */
export interface SharedTier {
  store: SharedStore
  prefix: string
  ttlMs: number
}

/**
 * @internal Sends a pending through the shared tier: a hit there settles it; when this replica
 * wins the fleet-wide lease, `dispatch` loads it as usual (batched or single) and the store keeps
 * the value. Until then the pending's results go to its `sink`, the store's fetch.
 */
export function loadThroughSharedTier<V>(
  shared: SharedTier,
  p: Pending<V>,
  dispatch: (p: Pending<V>) => void,
  settle: Settle<V>,
): void {
  shared.store
    .load<V>(
      shared.prefix + p.id,
      () =>
        new Promise<V>((resolve, reject) => {
          if (p.dropped) return reject(abortError())
          p.sink = { resolve, reject }
          dispatch(p)
        }),
      { ttlMs: shared.ttlMs },
    )
    .then(
      (result) => {
        p.sink = undefined
        settle.succeed(p, result.value, result.source === 'store' ? result.ttlMs : undefined)
      },
      (error: unknown) => {
        p.sink = undefined
        if (error instanceof NotShareable) settle.succeed(p, error.value as V)
        else settle.fail(p, error)
      },
    )
}

/** @internal Validates `store` and `storeNamespace`; the shared tier reuses the built-in cache's TTL. */
export function sharedTierOptions<V>(options: LoaderOptions<V>): SharedTier | undefined {
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
