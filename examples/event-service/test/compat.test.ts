/*
 * Contract with the original service's clients. The original seed script posted
 * `{ userId, name, details }` with a numeric `userId` (users 1, 2, 3 in turn), no `id` and no
 * Idempotency-Key, four at a time, retrying a 5xx or a timeout up to twice with backoff; the
 * original `/addEvent` also took an `id` from the body. These tests replay those shapes.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { startStack, type TestStack } from './helpers.js'

let stack: TestStack
let base: string
beforeEach(async () => {
  stack = await startStack()
  base = await stack.service.app.listen({ host: '127.0.0.1', port: 0 })
})
afterEach(() => stack.close())

/** The original client's payload for its i-th event (1-based), numeric userId. */
const originalPayload = (i: number) => {
  const userId = [1, 2, 3][(i - 1) % 3] as number
  return {
    userId,
    name: `Seeded Event ${i}`,
    details: `Auto-generated event #${i} for user ${userId}`,
  }
}

/** The original client's POST: JSON, no idempotency key, up to 2 retries on 5xx. */
async function postLikeTheOriginalClient(body: unknown): Promise<Response> {
  for (let attempt = 1; ; attempt++) {
    const res = await fetch(`${base}/addEvent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    if (res.status < 500 || attempt > 2) return res
    await new Promise((resolve) => setTimeout(resolve, 5 * attempt))
  }
}

describe('the original clients', () => {
  it('seed script: 25 posts with numeric userId, 4 at a time, answer 201 once per logical event', async () => {
    const before = stack.mock.store.listEvents().length
    const payloads = Array.from({ length: 25 }, (_, i) => originalPayload(i + 1))
    const statuses: number[] = []
    const created: { id: string; userId: string; name: string }[] = []
    const queue = [...payloads]
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let p = queue.shift(); p !== undefined; p = queue.shift()) {
          const res = await postLikeTheOriginalClient(p)
          statuses.push(res.status)
          if (res.status === 201) created.push((await res.json()) as (typeof created)[number])
        }
      }),
    )
    expect(statuses).toEqual(Array(25).fill(201))
    // Stored as the toolkit's string ids, each logical event exactly once.
    const stored = stack.mock.store.listEvents().filter((e) => e.name.startsWith('Seeded Event '))
    expect(stack.mock.store.listEvents().length).toBe(before + 25)
    expect(new Set(stored.map((e) => e.name)).size).toBe(25)
    expect(stored.find((e) => e.name === 'Seeded Event 2')).toMatchObject({
      userId: '2',
      details: 'Auto-generated event #2 for user 2',
    })
    expect(created.every((e) => typeof e.userId === 'string')).toBe(true)
    expect(stack.mock.store.getUser('1')?.events).toEqual(
      expect.arrayContaining(stored.filter((e) => e.userId === '1').map((e) => e.id)),
    )
  })

  it('a retry sending userId 1 then "1" under one Idempotency-Key stays one event', async () => {
    const send = (userId: number | string) =>
      fetch(`${base}/addEvent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'seed-7' },
        body: JSON.stringify({ userId, name: 'Retried', details: 'once' }),
      })
    const first = await send(1)
    // The same fields in another order, and the id as a string.
    const second = await fetch(`${base}/addEvent`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'seed-7' },
      body: JSON.stringify({ details: 'once', name: 'Retried', userId: '1' }),
    })
    expect([first.status, second.status]).toEqual([201, 201])
    expect(await second.json()).toEqual(await first.json())
    expect(stack.mock.store.listEvents().filter((e) => e.name === 'Retried')).toHaveLength(1)
  })

  it('takes a numeric or string id from the body, as the original did, once however often it is sent', async () => {
    const send = (id: number | string) =>
      fetch(`${base}/addEvent`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, userId: 3, name: 'Chosen id' }),
      })
    const first = await send(1_700_000_000_000)
    const again = await send('1700000000000')
    expect([first.status, again.status]).toEqual([201, 201])
    expect(await first.json()).toEqual({ id: '1700000000000', userId: '3', name: 'Chosen id' })
    expect(stack.mock.store.listEvents().filter((e) => e.name === 'Chosen id')).toEqual([
      { id: '1700000000000', userId: '3', name: 'Chosen id' },
    ])
  })
})
