import { afterEach, describe, expect, it } from 'vitest'
import { createEventAggregator } from '../src/index.js'
import { startUpstream, type Upstream, usersWithEvents } from './helpers.js'

// The aggregator keeps its own per-item caches (their own ttlMs), and honours the upstream's
// `Cache-Control: no-store` through the client's `onHeaders` (the mock sends it on a real port).

let upstream: Upstream | undefined
afterEach(async () => {
  await upstream?.close()
  upstream = undefined
})

describe('the aggregator honours no-store', () => {
  it('keeps neither users nor events the upstream marked no-store', async () => {
    upstream = await startUpstream({
      data: usersWithEvents([3]),
      cacheHeaders: {
        getUserById: { cacheControl: 'no-store' },
        getEventById: { cacheControl: 'no-store' },
      },
    })
    const aggregator = createEventAggregator({ client: upstream.client })
    await aggregator.getEventsByUserId('u3', { limit: 3 })
    await aggregator.getEventsByUserId('u3', { limit: 3 })
    expect(upstream.mock.calls('getUserById')).toBe(2)
    expect(upstream.mock.calls('getEventById')).toBe(6)
  })

  it('still caches answers without it, for its own ttlMs', async () => {
    upstream = await startUpstream({
      data: usersWithEvents([3]),
      cacheHeaders: { getEventById: { cacheControl: 'max-age=0' } },
    })
    const aggregator = createEventAggregator({ client: upstream.client })
    await aggregator.getEventsByUserId('u3', { limit: 3 })
    await aggregator.getEventsByUserId('u3', { limit: 3 })
    expect(upstream.mock.calls('getUserById')).toBe(1)
    expect(upstream.mock.calls('getEventById')).toBe(3)
  })

  it('does not store no-store events read through the batch route', async () => {
    upstream = await startUpstream({
      data: usersWithEvents([3]),
      cacheHeaders: { getEventsByIds: { cacheControl: 'no-store' } },
    })
    const aggregator = createEventAggregator({ client: upstream.client, batch: {} })
    await aggregator.getEventsByUserId('u3', { limit: 3 })
    await aggregator.getEventsByUserId('u3', { limit: 3 })
    expect(upstream.mock.calls('getEventsByIds')).toBe(2)
  })
})
