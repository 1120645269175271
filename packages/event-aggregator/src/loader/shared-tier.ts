import { isSharedStore, type SharedStore, toSharedStore } from '@userevents/upstream-client'
import { AggregatorValidationError } from '../errors/validation-error.js'
import type { LoaderCacheOptions } from './cache.js'
import { isNoStore } from './no-store.js'
import { abortError, type Pending, type Settle } from './pending.js'
import type { LoaderOptions } from './types.js'

/**
 * @internal The loader's shared tier, resolved: the store (a v1 store adapted to the v2
 * contract), its key prefix and the TTL.
 */
export interface SharedTier {
  store: SharedStore
  prefix: string
  ttlMs: number
}

/**
 * @internal Sends a pending through the shared tier: a hit there settles it; when this replica
 * wins the fleet-wide lease, `dispatch` loads it as usual (batched or single) and the store keeps
 * the value for the cache's TTL, unless the upstream said it must not be stored (`no-store`):
 * then the fetch answers `store: false` and the store keeps nothing. Until then the pending's
 * results go to its `sink`, the store's fetch. Values carry no validators, so nothing is kept
 * past its freshness.
 */
export function loadThroughSharedTier<V>(
  shared: SharedTier,
  p: Pending<V>,
  dispatch: (p: Pending<V>) => void,
  settle: Settle<V>,
): void {
  const { ttlMs } = shared
  shared.store
    .load<V>(shared.prefix + p.id, () =>
      new Promise<V>((resolve, reject) => {
        if (p.dropped) return reject(abortError())
        p.sink = { resolve, reject }
        dispatch(p)
      }).then((value) => (isNoStore(value) ? { value, store: false } : { value, freshMs: ttlMs })),
    )
    .then(
      (result) => {
        p.sink = undefined
        settle.succeed(p, result.value, result.source === 'store' ? result.freshMs : undefined)
      },
      (error: unknown) => {
        p.sink = undefined
        settle.fail(p, error)
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
  const ttlMs = (cache as LoaderCacheOptions | undefined)?.ttlMs ?? 60_000
  return { store: toSharedStore(store, ttlMs), prefix: `${storeNamespace}:`, ttlMs }
}
