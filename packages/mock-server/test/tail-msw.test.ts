import { setupServer } from 'msw/node'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMockUpstream, type MockClock } from '../src/index.js'
import { createRandom } from '../src/prng.js'

const server = setupServer()
beforeAll(() => server.listen({ onUnhandledRequest: 'error' }))
afterAll(() => server.close())

describe('tail overlay in process (msw handlers)', () => {
  it('delays the draws of its own seeded generator, as on the real port', async () => {
    const delays: number[] = []
    const clock: MockClock = {
      setTimeout: (fn, ms) => {
        delays.push(ms)
        return setTimeout(fn, 0)
      },
      clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
    }
    const mock = createMockUpstream({
      mode: 'healthy',
      delays: 0,
      clock,
      seed: 7,
      tail: { rate: 0.25, delayMs: 300 },
    })
    server.resetHandlers(...mock.handlers)
    for (let i = 0; i < 100; i++)
      expect((await fetch('http://event.com/getUsers')).status).toBe(200)
    // The overlay's generator is the mock's seed xor a constant (apart from the mode's stream).
    const random = createRandom(7 ^ 0x7a11)
    let expected = 0
    for (let i = 0; i < 100; i++) if (random() < 0.25) expected++
    expect(expected).toBeGreaterThan(10)
    expect(mock.tailDelayed()).toBe(expected)
    expect(delays).toEqual(new Array(expected).fill(300))
  })
})
