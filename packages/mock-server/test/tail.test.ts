import { afterEach, describe, expect, it } from 'vitest'
import { runMockCli } from '../src/cli/mock-cli.js'
import { parseTail } from '../src/core/overlays/tail.js'
import {
  createMockUpstream,
  InvalidMockOptionError,
  type MockClock,
  type MockServerHandle,
} from '../src/index.js'
import { createRandom } from '../src/prng.js'

let handle: MockServerHandle | undefined
afterEach(async () => {
  await handle?.close()
  handle = undefined
})

/** A clock that records each delay asked for and lets it pass at once. */
function recordingClock(): MockClock & { delays: number[] } {
  const delays: number[] = []
  return {
    delays,
    setTimeout: (fn, ms) => {
      delays.push(ms)
      return setImmediate(fn)
    },
    clearTimeout: (h) => clearImmediate(h as NodeJS.Immediate),
  }
}

describe('tail overlay on the real port', () => {
  it('delays a seeded share of answers, on top of the mode, the same for the same seed', async () => {
    const run = async (mode: 'healthy' | 'down') => {
      const clock = recordingClock()
      const mock = createMockUpstream({
        mode,
        delays: 0,
        clock,
        seed: 7,
        tail: { rate: 0.25, delayMs: 300 },
      })
      handle = await mock.listen()
      const statuses: number[] = []
      for (let i = 0; i < 200; i++) statuses.push((await fetch(`${handle.url}/getUsers`)).status)
      await handle.close()
      handle = undefined
      return { delayed: mock.tailDelayed(), delays: clock.delays, statuses }
    }
    const healthy = await run('healthy')
    const random = createRandom(7 ^ 0x7a11)
    let expected = 0
    for (let i = 0; i < 200; i++) if (random() < 0.25) expected++
    expect(healthy.delayed).toBe(expected)
    expect(healthy.delayed).toBeGreaterThan(20)
    expect(healthy.delayed).toBeLessThan(80)
    expect(healthy.delays).toEqual(new Array(healthy.delayed).fill(300))
    expect(new Set(healthy.statuses)).toEqual(new Set([200]))
    // An overlay on another mode: `down` still answers 503, and the same seed draws the same tail.
    const down = await run('down')
    expect(down.delayed).toBe(healthy.delayed)
    expect(new Set(down.statuses)).toEqual(new Set([503]))
  })

  it('is switched by POST /__admin/tail, validated with a 400 quoting the value', async () => {
    const mock = createMockUpstream({ mode: 'healthy', delays: 0 })
    handle = await mock.listen()
    const admin = (body: string) =>
      fetch(`${handle?.url}/__admin/tail`, { method: 'POST', body }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as Record<string, unknown>,
      }))
    expect(await (await fetch(`${handle.url}/__admin/tail`)).json()).toEqual({
      tail: false,
      delayed: 0,
    })
    expect(await admin('{"rate":1,"delayMs":5}')).toEqual({
      status: 200,
      body: { tail: { rate: 1, delayMs: 5 }, delayed: 0 },
    })
    await fetch(`${handle.url}/getUsers`)
    expect(mock.tailDelayed()).toBe(1)
    const bad = await admin('{"rate":2,"delayMs":5}')
    expect(bad.status).toBe(400)
    expect(JSON.stringify(bad.body)).toContain(
      'Expected `tail.rate` to be a number from 0 to 1, got 2',
    )
    expect(mock.tail).toEqual({ rate: 1, delayMs: 5 })
    expect((await admin('false')).body.tail).toBe(false)
    await fetch(`${handle.url}/getUsers`)
    expect(mock.tailDelayed()).toBe(1)
  })
})

describe('tail options', () => {
  it('validates the option, setTail and the CLI form', () => {
    expect(() => createMockUpstream({ tail: { rate: -1, delayMs: 1 } })).toThrow(
      InvalidMockOptionError,
    )
    expect(() => createMockUpstream({ tail: { rate: 0.1 } as never })).toThrow(/tail\.delayMs/)
    expect(() => createMockUpstream({ tail: { rate: 0.1, delayMs: 1, x: 1 } as never })).toThrow(
      /Unknown option `tail\.x`/,
    )
    const mock = createMockUpstream({ tail: { rate: 0.1, delayMs: 10 } })
    expect(() => mock.setTail({ rate: 0.1, delayMs: -5 })).toThrow(/tail\.delayMs/)
    expect(mock.tail).toEqual({ rate: 0.1, delayMs: 10 })
    expect(parseTail('0.02:300')).toEqual({ rate: 0.02, delayMs: 300 })
    expect(() => parseTail('2%:300')).toThrow(/--tail/)
  })
})

describe('userevents-mock --tail', () => {
  const io = (out: { err: string }) => ({
    stdout: { write: (_s: string) => true },
    stderr: { write: (s: string) => (out.err += s) },
  })

  it('starts with the overlay on, readable at GET /__admin/tail', async () => {
    const out = { err: '' }
    const result = await runMockCli(['--port', '0', '--mode', 'healthy', '--tail', '1:5'], io(out))
    handle = result as MockServerHandle
    await fetch(`${handle.url}/getUsers`)
    expect(await (await fetch(`${handle.url}/__admin/tail`)).json()).toEqual({
      tail: { rate: 1, delayMs: 5 },
      delayed: 1,
    })
  })

  it('rejects a malformed --tail with exit code 2, quoting it', async () => {
    const out = { err: '' }
    expect(await runMockCli(['--port', '0', '--tail', '2%:300'], io(out))).toBe(2)
    expect(out.err).toContain('Expected `--tail` to be RATE:MS, e.g. 0.02:300, got "2%:300"')
  })
})
