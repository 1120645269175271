import type { RequestHandler } from 'msw'
import { describe, expectTypeOf, it } from 'vitest'
import {
  createMockUpstream,
  type MockServerHandle,
  type RouteName,
  type SeedResult,
  seedEvents,
} from '../src/index.js'

describe('public types', () => {
  const mock = createMockUpstream()

  it('counter methods return a number for one route and a record for all', () => {
    expectTypeOf(mock.calls('getEventById')).toEqualTypeOf<number>()
    expectTypeOf(mock.calls()).toEqualTypeOf<Record<RouteName, number>>()
    expectTypeOf(mock.highWater('getEventsByIds')).toEqualTypeOf<number>()
    expectTypeOf(mock.inFlight()).toEqualTypeOf<Record<RouteName, number>>()
    // @ts-expect-error: not a counted route
    mock.calls('getEventsByUserId')
  })

  it('exposes handlers for setupServer and a listen() handle', () => {
    expectTypeOf(mock.handlers).toEqualTypeOf<RequestHandler[]>()
    expectTypeOf(mock.listen()).resolves.toEqualTypeOf<MockServerHandle>()
    expectTypeOf<MockServerHandle['close']>().returns.resolves.toBeVoid()
  })

  it('accepts only known modes and delay shapes', () => {
    // @ts-expect-error: unknown mode
    createMockUpstream({ mode: 'sideways' })
    createMockUpstream({ delays: 0 })
    createMockUpstream({ delays: { getEventById: 5, slowExtra: 10, getUsers: 1 } })
    // @ts-expect-error: delays are numbers
    createMockUpstream({ delays: { default: '5' } })
  })

  it('seedEvents resolves a SeedResult', () => {
    expectTypeOf(seedEvents).returns.resolves.toEqualTypeOf<SeedResult>()
  })
})
