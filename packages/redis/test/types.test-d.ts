import {
  isSharedStore,
  type SharedLoadV2Result,
  type SharedStore,
  type SharedStoreV1,
} from '@userevents/upstream-client'
import type { Cluster, Redis } from 'ioredis'
import { expectTypeOf } from 'vitest'
import {
  createRedisConnection,
  createRedisStore,
  type FleetMode,
  type RedisClient,
  type RedisStore,
} from '../src/index.js'

const store = createRedisStore({ url: 'redis://127.0.0.1:6379', namespace: 'types' })
expectTypeOf(store).toEqualTypeOf<RedisStore>()
expectTypeOf(store).toMatchTypeOf<SharedStore>()
expectTypeOf(store.mode).toEqualTypeOf<FleetMode>()
// `load` keeps the fetched value's type (contract v2: the fetch returns its lifetime).
expectTypeOf(
  store.load('k', async () => ({ value: { id: '1' }, freshMs: 1, keepMs: 2 })),
).resolves.toEqualTypeOf<SharedLoadV2Result<{ id: string }>>()
// The fetch may keep its answer out of the store, and is handed a stale entry to revalidate.
store.load('k', async (stale?: { value: { id: string } }) => ({
  value: stale?.value ?? { id: '1' },
  store: false as const,
}))
// @ts-expect-error: a v2 fetch returns its lifetime with the value, not the bare value.
store.load('k', async () => ({ id: '1' }))
// The guard narrows unknown input.
declare const unknownValue: unknown
if (isSharedStore(unknownValue)) {
  // Either contract: a v1 store is still accepted (and adapted by its users).
  expectTypeOf(unknownValue).toEqualTypeOf<SharedStore | SharedStoreV1>()
}
// @ts-expect-error: `namespace` is required.
createRedisStore({ url: 'redis://127.0.0.1:6379' })

// A Redis Cluster: start-up nodes, or the caller's own ioredis Cluster (or Redis).
declare const cluster: Cluster
declare const redis: Redis
createRedisConnection({ cluster: ['127.0.0.1:7000', 'redis://:pw@127.0.0.1:7001'] })
createRedisConnection({ redis: cluster })
createRedisStore({ redis, namespace: 'types' })
expectTypeOf<RedisClient>().toEqualTypeOf<Redis | Cluster>()
expectTypeOf(createRedisConnection({ redis: cluster }).topology).toEqualTypeOf<
  'single' | 'cluster'
>()
// `run` passes whichever client the connection has.
createRedisConnection({ redis: cluster }).run((r) => {
  expectTypeOf(r).toEqualTypeOf<RedisClient>()
  return r.get('k')
})
// @ts-expect-error: cluster nodes are strings.
createRedisConnection({ cluster: [{ host: '127.0.0.1', port: 7000 }] })
