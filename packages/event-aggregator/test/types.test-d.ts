import type { UpstreamClient } from '@userevents/upstream-client'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type AggregatorClient,
  createEventAggregator,
  createLoader,
  createPageSerializer,
  type Event,
  type EventPage,
  isAggregatorErrorCode,
  type Loader,
} from '../src/index.js'

declare const client: UpstreamClient
const aggregator = createEventAggregator({ client })

describe('public types', () => {
  it('accepts the real upstream client', () => {
    expectTypeOf<UpstreamClient>().toExtend<AggregatorClient>()
  })

  it('types a projected page as Pick<Event, K | "id">', async () => {
    const page = await aggregator.getEventsByUserId('1', { fields: ['name'] })
    expectTypeOf(page).toEqualTypeOf<EventPage<Pick<Event, 'name' | 'id'>>>()
    expectTypeOf(page.items[0]!.name).toEqualTypeOf<string>()
    // @ts-expect-error userId was not selected
    page.items[0]!.userId

    const two = await aggregator.getEventsByUserId('1', { fields: ['userId', 'details'] })
    expectTypeOf(two.items).toEqualTypeOf<Pick<Event, 'id' | 'userId' | 'details'>[]>()
    expectTypeOf(two.items[0]!.details).toEqualTypeOf<string | undefined>()
  })

  it('types an unprojected page as full events', async () => {
    const page = await aggregator.getEventsByUserId('1', { limit: 10 })
    expectTypeOf(page.items).toEqualTypeOf<Pick<Event, keyof Event>[]>()
    expectTypeOf(page.items[0]!).toExtend<Event>()
    expectTypeOf(page.missing[0]!).toEqualTypeOf<{ id: string; code: string; message: string }>()
  })

  it('rejects unknown fields at compile time', () => {
    // @ts-expect-error not an event field
    aggregator.getEventsByUserId('1', { fields: ['password'] })
  })

  it('yields projected pages from the iterator', async () => {
    for await (const page of aggregator.iterateEventsByUserId('1', { fields: ['name'] })) {
      expectTypeOf(page.items[0]!).toEqualTypeOf<Pick<Event, 'id' | 'name'>>()
    }
  })

  it('gives loadMany a value or an Error per id', async () => {
    const loader = createLoader({ load: async (id: string) => ({ id, n: 1 }) })
    expectTypeOf(loader).toEqualTypeOf<Loader<{ id: string; n: number }>>()
    expectTypeOf(await loader.loadMany(['a'])).toEqualTypeOf<
      Array<{ id: string; n: number } | Error>
    >()
    expectTypeOf(await loader.load('a')).toEqualTypeOf<{ id: string; n: number }>()
  })

  it('narrows errors by code and serializes pages to strings', () => {
    const e: unknown = null
    if (isAggregatorErrorCode(e, 'USER_NOT_FOUND'))
      expectTypeOf(e.code).toEqualTypeOf<'USER_NOT_FOUND'>()
    if (isAggregatorErrorCode(e, 'UPSTREAM_UNAVAILABLE'))
      expectTypeOf(e.retryAfterMs).toEqualTypeOf<number | undefined>()
    expectTypeOf(createPageSerializer(['name'])).returns.toEqualTypeOf<string>()
  })
})
