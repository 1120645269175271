import { describe, expect, it } from 'vitest'
import {
  type BudgetExhaustedEvent,
  createUpstreamClient,
  defaults,
  InvalidOptionError,
  isUpstreamErrorCode,
} from '../src/index.js'
import { RetryBudget, resolveRetryBudget } from '../src/policies/retry/budget.js'
import { closeAfterEach, json, recordingLogger, startServer, TestClock } from './helpers.js'

const open = closeAfterEach()

describe('RetryBudget (policy)', () => {
  it('allows retries up to the ratio of calls in the window, then refuses', () => {
    const clock = new TestClock()
    const budget = new RetryBudget({ ratio: 0.2, windowMs: 10_000, minRetriesPerSecond: 0 }, clock)
    for (let i = 0; i < 100; i++) budget.recordCall('GET /a')
    let granted = 0
    while (budget.tryRetry('GET /a')) granted++
    expect(granted).toBe(20)
    expect(budget.snapshot('GET /a')).toEqual({ calls: 100, retries: 20, allowed: 20 })
    // Another operation has its own window.
    expect(budget.tryRetry('GET /b')).toBe(false)
    budget.recordCall('GET /b')
    expect(budget.snapshot('GET /b')).toMatchObject({ calls: 1, retries: 0 })
  })

  it('slides: calls and retries older than the window no longer count', () => {
    const clock = new TestClock()
    const budget = new RetryBudget({ ratio: 0.5, windowMs: 1_000, minRetriesPerSecond: 0 }, clock)
    for (let i = 0; i < 10; i++) budget.recordCall('op')
    for (let i = 0; i < 5; i++) expect(budget.tryRetry('op')).toBe(true)
    expect(budget.tryRetry('op')).toBe(false)
    clock.advance(500)
    for (let i = 0; i < 4; i++) budget.recordCall('op')
    // 14 calls, 5 retries in the window: 7 allowed.
    expect(budget.tryRetry('op')).toBe(true)
    expect(budget.tryRetry('op')).toBe(true)
    expect(budget.tryRetry('op')).toBe(false)
    clock.advance(600) // the first 10 calls and 5 retries slid out
    expect(budget.snapshot('op')).toEqual({ calls: 4, retries: 2, allowed: 2 })
    expect(budget.tryRetry('op')).toBe(false)
    clock.advance(1_000)
    expect(budget.snapshot('op')).toEqual({ calls: 0, retries: 0, allowed: 0 })
  })

  it('the floor lets a quiet operation retry: minRetriesPerSecond × window', () => {
    const clock = new TestClock()
    const budget = new RetryBudget({ ratio: 0.2, windowMs: 5_000, minRetriesPerSecond: 2 }, clock)
    budget.recordCall('op')
    let granted = 0
    while (budget.tryRetry('op')) granted++
    expect(granted).toBe(10)
  })

  it('validates its options, naming the bad one', () => {
    expect(resolveRetryBudget(undefined)).toEqual({
      ratio: 0.2,
      windowMs: 10_000,
      minRetriesPerSecond: 1,
    })
    expect(resolveRetryBudget(false)).toBe(false)
    expect(defaults.retry.budget).toEqual(resolveRetryBudget(undefined))
    const cases: Array<[unknown, string]> = [
      [{ ratio: 1.5 }, 'Expected `retry.budget.ratio` to be a number from 0 to 1, got 1.5'],
      [{ windowMs: 0 }, 'Expected `retry.budget.windowMs` to be a finite number >= 10, got 0'],
      [
        { minRetriesPerSecond: -1 },
        'Expected `retry.budget.minRetriesPerSecond` to be a finite number >= 0, got -1',
      ],
      [{ percent: 20 }, 'Unknown option `retry.budget.percent`; expected one of'],
      ['20%', 'Expected `retry.budget` to be an object or false, got "20%"'],
    ]
    for (const [budget, message] of cases) {
      const create = () =>
        createUpstreamClient({ baseUrl: 'http://127.0.0.1:1', retry: { budget: budget as never } })
      expect(create).toThrow(InvalidOptionError)
      expect(create).toThrow(message)
    }
  })
})

describe('retry budget in the client (real server)', () => {
  /** Sends `n` GETs of `path` one after another; returns the errors. */
  async function sequential(path: string, n: number): Promise<unknown[]> {
    const errors: unknown[] = []
    for (let i = 0; i < n; i++) {
      await open.client?.get(path).catch((e: unknown) => errors.push(e))
    }
    return errors
  }

  it('bounds upstream requests per call by 1 + ratio when every call fails', async () => {
    open.server = await startServer((_req, res) => json(res, 503, { error: 'browned out' }))
    const refused: BudgetExhaustedEvent[] = []
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { retries: 2, minDelayMs: 0, jitter: false, budget: { minRetriesPerSecond: 0 } },
      breaker: false,
    })
    open.client.onBudgetExhausted((e) => refused.push(e))
    const errors = await sequential('/getEventById/1', 50)
    expect(errors).toHaveLength(50)
    // 50 first attempts and 20 % of them as retries: 60 requests instead of 150.
    expect(open.server.requests).toBe(60)
    // Every call ended on a refusal: 10 after one granted retry, 40 after their first attempt.
    expect(refused).toHaveLength(50)
    expect(refused.filter((e) => e.attempt === 2)).toHaveLength(10)
    const last = errors.at(-1)
    // The refused call gets the real error of its attempt at once.
    expect(isUpstreamErrorCode(last, 'UPSTREAM_HTTP_STATUS')).toBe(true)
    expect(last).toMatchObject({ status: 503, attempts: 1 })
    expect(refused.at(-1)).toMatchObject({
      operation: 'GET /getEventById',
      method: 'GET',
      path: '/getEventById/1',
      attempt: 1,
      calls: 50,
      retries: 10,
      allowed: 10,
    })
  })

  it('without a budget, the same calls cost three requests each', async () => {
    open.server = await startServer((_req, res) => json(res, 503, { error: 'browned out' }))
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { retries: 2, minDelayMs: 0, jitter: false, budget: false },
      breaker: false,
    })
    await sequential('/getEventById/1', 50)
    expect(open.server.requests).toBe(150)
  })

  it('keeps one budget per operation: a failing route does not spend a healthy one', async () => {
    open.server = await startServer((req, res, n) => {
      if (req.url?.startsWith('/bad')) json(res, 503, {})
      // /good fails every other request, so each call succeeds on its retry.
      else json(res, n % 2 === 0 ? 503 : 200, {})
    })
    const { logger, lines } = recordingLogger()
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      logger,
      retry: {
        retries: 1,
        minDelayMs: 0,
        jitter: false,
        budget: { ratio: 0, minRetriesPerSecond: 0.5 },
      },
      breaker: false,
    })
    // The floor allows 5 retries per 10 s window to each operation.
    await sequential('/bad/1', 20)
    const before = open.server.requests
    expect(before).toBe(25)
    const refusals = lines.filter((l) => l.msg === 'upstream retry refused by the retry budget')
    expect(refusals).toHaveLength(15)
    expect(refusals[0]?.fields).toMatchObject({ operation: 'GET /bad', attempt: 1, status: 503 })
    let retried = 0
    open.client.onRetry(() => retried++)
    await sequential('/good/1', 2)
    expect(retried).toBeGreaterThan(0)
  })

  it('is on by default, with the documented floor', async () => {
    open.server = await startServer((_req, res) => json(res, 503, {}))
    let refused = 0
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      retry: { minDelayMs: 0, jitter: false },
      breaker: false,
    })
    const off = open.client.onBudgetExhausted(() => refused++)
    // 20 calls: ratio 0.2 allows 4, the floor 1/s × 10 s allows 10 retries.
    await sequential('/x', 20)
    expect(open.server.requests).toBe(30)
    expect(refused).toBe(15)
    off()
    await sequential('/x', 1)
    expect(refused).toBe(15)
  })
})
