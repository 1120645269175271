import { isSharedStore, type SharedLoadResult, type SharedStore } from '@userevents/upstream-client'
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
// `load` keeps the fetched value's type.
expectTypeOf(store.load('k', async () => ({ id: '1' }), { ttlMs: 1 })).resolves.toEqualTypeOf<
  SharedLoadResult<{ id: string }>
>()
// The guard narrows unknown input.
declare const unknownValue: unknown
if (isSharedStore(unknownValue)) expectTypeOf(unknownValue).toEqualTypeOf<SharedStore>()
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
