import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startStack, type TestStack } from './helpers.js'

describe('request id in the logs', () => {
  let stack: TestStack
  beforeAll(async () => {
    stack = await startStack({ logLevel: 'debug' })
  })
  afterAll(() => stack.close())

  it('logs the request and every upstream attempt it caused under the same requestId', async () => {
    const res = await stack.service.app.inject({
      method: 'GET',
      url: '/getEventsByUserId/1',
      headers: { 'x-request-id': 'trace-42' },
    })
    expect(res.statusCode).toBe(200)
    expect(res.headers['x-request-id']).toBe('trace-42')

    const upstreamLines = stack.logs.filter((l) => l.upstream === 'events' && l.path !== undefined)
    // The user, then its two events.
    expect(upstreamLines.map((l) => l.path)).toEqual([
      '/getUserById/1',
      '/getEventById/1',
      '/getEventById/2',
    ])
    for (const line of upstreamLines) expect(line.requestId).toBe('trace-42')

    // One access line per request (Fastify's own two are off), with the request id.
    expect(stack.logs.filter((l) => l.msg === 'incoming request')).toEqual([])
    const requestLines = stack.logs.filter((l) => l.msg === 'request completed')
    expect(requestLines).toEqual([
      expect.objectContaining({
        requestId: 'trace-42',
        req: { method: 'GET', url: '/getEventsByUserId/1' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
      }),
    ])
    expect(stack.logs.some((l) => 'reqId' in l)).toBe(false)
  })
})
