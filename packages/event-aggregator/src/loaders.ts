import type { ResolvedAggregatorOptions } from './aggregator-options.js'
import type { EventAggregatorOptions } from './aggregator-types.js'
import { EventNotFoundError } from './errors/event-not-found-error.js'
import { InvalidUpstreamDataError } from './errors/invalid-upstream-data-error.js'
import type { CacheMap, LoaderCacheOptions } from './loader/cache.js'
import { createLoader } from './loader/loader.js'
import { markNoStore } from './loader/no-store.js'
import type { Loader } from './loader/types.js'
import type { Event, User } from './types.js'
import { statusOf } from './upstream-errors.js'
import { batchResults, callOptions, checkEvent, checkUser } from './upstream-reads.js'

/**
 * @internal The aggregator's two loaders over its client: users (their event-id lists) and
 * events (one by one, or through the batch route while the upstream has one).
 */
export function createAggregatorLoaders(
  options: EventAggregatorOptions,
  resolved: ResolvedAggregatorOptions,
): { users: Loader<User>; events: Loader<Event> } {
  const { client, batch } = resolved
  // Whether the aggregator keeps users and events itself: then its reads skip the client's cache.
  const userCached = options.userCache !== false
  const users = createLoader<User>({
    load: async (id, { signal, context }) => {
      const read = await readThrough(
        client,
        `/getUserById/${encodeURIComponent(id)}`,
        callOptions('getUserById', signal, context, userCached),
      )
      const user = checkUser(id, read.body)
      return read.cacheable ? user : markNoStore(user)
    },
    ...commonOptions(options, resolved, 'getUserById', 'user', options.userCache, {
      ttlMs: 5_000,
      max: 1_000,
    }),
  })
  const operation = batch === false ? 'getEventById' : 'getEventsByIds'
  const events = createLoader<Event>({
    ...eventLoads(resolved, options.cache !== false),
    ...commonOptions(options, resolved, operation, 'event', options.cache, {
      ttlMs: 60_000,
      max: 10_000,
    }),
  })
  return { users, events }
}

/**
 * @internal The event loader's `load` and, with a batch route, its `batchLoad`. A 404 of one
 * event is that event's answer; a batch route answering 404, 405 or 501 does not exist.
 */
function eventLoads(resolved: ResolvedAggregatorOptions, cached: boolean) {
  const { client, batch } = resolved
  const load = async (id: string, signal: AbortSignal, context: unknown): Promise<Event> => {
    try {
      const read = await readThrough(
        client,
        `/getEventById/${encodeURIComponent(id)}`,
        callOptions('getEventById', signal, context, cached),
      )
      const event = checkEvent(id, read.body)
      return read.cacheable ? event : markNoStore(event)
    } catch (error) {
      if (statusOf(error) === 404) throw new EventNotFoundError(id, { cause: error })
      throw error
    }
  }
  const single = {
    load: (id: string, { signal, context }: { signal: AbortSignal; context: unknown }) =>
      load(id, signal, context),
  }
  if (batch === false) return single
  // Flipped once the upstream shows it has no batch route, so later pages go straight to
  // single reads instead of paying a failed batch call each time.
  let batchAvailable = true
  return {
    ...single,
    maxBatchSize: batch.maxIds,
    batchLoad: async (
      ids: string[],
      { signal, context }: { signal: AbortSignal; context: unknown },
    ) => {
      if (!batchAvailable) return null
      let read: { body: unknown; cacheable: boolean }
      try {
        const query = ids.map(encodeURIComponent).join(',')
        read = await readThrough(
          client,
          `${batch.path}?ids=${query}`,
          callOptions('getEventsByIds', signal, context, cached),
        )
      } catch (error) {
        const status = statusOf(error)
        if (status === 404 || status === 405 || status === 501) {
          batchAvailable = false
          return null
        }
        throw error
      }
      const results = batchResults(ids, read.body)
      return read.cacheable ? results : results.map(markNoStore)
    },
  }
}

/**
 * Private: one GET through the client, with whether the upstream allows storing its answer (the
 * client's `onHeaders`; a client without it leaves every answer cacheable).
 */
async function readThrough(
  client: ResolvedAggregatorOptions['client'],
  path: string,
  options: ReturnType<typeof callOptions>,
): Promise<{ body: unknown; cacheable: boolean }> {
  let cacheable = true
  const body = await client.get<unknown>(path, {
    ...options,
    onHeaders: (info) => {
      cacheable = info.cacheable
    },
  })
  return { body, cacheable }
}

/** @internal The loader options both loaders share: window, cache, shared tier, stale-if-error. */
function commonOptions<V>(
  options: EventAggregatorOptions,
  resolved: ResolvedAggregatorOptions,
  operation: string,
  namespace: string,
  cache: LoaderCacheOptions | CacheMap<string, V> | false | undefined,
  defaultCache: LoaderCacheOptions,
) {
  const { client, concurrency, staleIfError } = resolved
  const limit = client.limit
  return {
    concurrency,
    // The window of an operation follows the client's learned limit of it, when it has one.
    ...(limit === undefined ? {} : { window: () => limit.call(client, operation) ?? concurrency }),
    cache: cache ?? defaultCache,
    // A cache turned off (`false`) keeps its loader out of the shared tier too.
    ...(options.store === undefined || cache === false
      ? {}
      : { store: options.store, storeNamespace: namespace }),
    // Stale data is a better answer than an error only while the upstream is failing; a 404 or
    // a malformed answer is the upstream's real answer and must not be papered over.
    staleIfError: (e: unknown) =>
      staleIfError && !(e instanceof EventNotFoundError) && !(e instanceof InvalidUpstreamDataError)
        ? statusOf(e) !== 404
        : false,
    ...(options.clock ? { clock: options.clock } : {}),
  }
}
