import { isSharedStore, type SharedLoadResult, type SharedStore } from '@userevents/upstream-client'
import { expectTypeOf } from 'vitest'
import { createRedisStore, type FleetMode, type RedisStore } from '../src/index.js'

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
