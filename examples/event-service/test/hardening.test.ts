import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { startStack, type TestStack } from './helpers.js'

/**
 * The defects the chaos run of issue 11 found, one test each. `pnpm test:chaos` checks the same
 * properties over a seeded corpus against the built service; these pin each one down.
 */
describe('hardening: bad input never answers 5xx, every answer has the request id and the error shape', () => {
  let stack: TestStack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  let base: string | undefined
  afterEach(() => {
    base = undefined
  })

  /** A raw request on a real port: `inject` and fetch would normalise or refuse these paths. */
  async function raw(path: string, method = 'GET', body?: Buffer) {
    base ??= await (stack as TestStack).service.listen()
    return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
      (resolve, reject) => {
        const req = httpRequest(`${base}${path}`, { method }, (res) => {
          let text = ''
          res.on('data', (c) => {
            text += c
          })
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
          )
        })
        req.on('error', reject)
        if (body !== undefined) {
          req.setHeader('content-type', 'application/json')
          req.setHeader('content-length', body.length)
        }
        req.end(body)
      },
    )
  }

  it('answers 400 naming the problem for a body of 5,000 nested arrays (was 500: stack overflow)', async () => {
    stack = await startStack()
    for (const depth of [4_000, 5_000, 8_000]) {
      const res = await stack.service.app.inject({
        method: 'POST',
        url: '/addEvent',
        headers: { 'content-type': 'application/json' },
        payload: `${'['.repeat(depth)}${']'.repeat(depth)}`,
      })
      expect(res.statusCode, `depth ${depth}`).toBe(400)
      const body = res.json() as { message: string; code: string }
      expect(body.code).toBe('INVALID_INPUT')
      expect(body.message).toMatch(/^body must be object, got \[\[\[/)
      expect(body.message.length).toBeLessThan(200)
      expect(res.headers['x-request-id']).toEqual(expect.any(String))
    }
    // A deep value inside a field is quoted the same way.
    const res = await stack.service.app.inject({
      method: 'POST',
      url: '/addEvent',
      headers: { 'content-type': 'application/json' },
      payload: `{"name":"x","userId":"1","details":${'['.repeat(6_000)}${']'.repeat(6_000)}}`,
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toMatchObject({ code: 'INVALID_INPUT' })
  })

  it('answers an undecodable path and an over-long id with the request id and the error body', async () => {
    stack = await startStack()
    const badUrl = await raw('/getEventsByUserId/%')
    expect(badUrl.status).toBe(400)
    expect(badUrl.headers['x-request-id']).toEqual(expect.any(String))
    expect(JSON.parse(badUrl.body)).toEqual({
      error: 'Bad Request',
      message: "'/getEventsByUserId/%' is not a valid url component",
      code: 'FST_ERR_BAD_URL',
    })
    const long = await raw(`/getEventsByUserId/${'1'.repeat(101)}`)
    expect(long.status).toBe(414)
    expect(long.headers['x-request-id']).toEqual(expect.any(String))
    expect(JSON.parse(long.body)).toMatchObject({
      error: 'URI Too Long',
      code: 'FST_ERR_MAX_PARAM_LENGTH',
    })
    expect(stack.mock.calls('getUserById')).toBe(0)
  })

  it('refuses a JSON body that is not UTF-8 with 400 instead of storing U+FFFD', async () => {
    stack = await startStack()
    const body = Buffer.concat([
      Buffer.from('{"name":"'),
      Buffer.from([0xc3, 0x28, 0xff]),
      Buffer.from('","userId":"1"}'),
    ])
    const res = await raw('/addEvent', 'POST', body)
    expect(res.status).toBe(400)
    expect(res.headers['x-request-id']).toEqual(expect.any(String))
    expect(JSON.parse(res.body)).toEqual({
      error: 'Bad Request',
      message: 'body is not valid UTF-8',
      code: 'INVALID_INPUT',
    })
    expect(stack.mock.calls('addEvent')).toBe(0)
    // Valid UTF-8 beyond ASCII is still accepted.
    const ok = await raw('/addEvent', 'POST', Buffer.from('{"name":"café ☕","userId":"1"}'))
    expect(ok.status).toBe(201)
    expect(JSON.parse(ok.body)).toMatchObject({ name: 'café ☕' })
  })
})

describe('hardening: an outage does not flood the logs', () => {
  let stack: TestStack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('logs the first fast 503 of a code, then counts: 300 rejections, 2 lines, no stack', async () => {
    stack = await startStack({
      mock: { mode: 'down' },
      config: {
        upstream: { retries: 0 },
        breaker: { failureThreshold: 1, windowMs: 60_000, resetTimeoutMs: 60_000 },
      },
    })
    const { app } = stack.service
    const codes = new Set<string>()
    for (let i = 0; i < 300; i++) {
      const res = await app.inject({ method: 'GET', url: i % 2 ? '/getEvents' : '/getUsers' })
      expect(res.statusCode).toBe(503)
      codes.add((res.json() as { code: string }).code)
    }
    const failed = stack.logs.filter((l) => String(l.msg).startsWith('request failed'))
    // The upstream's 503 that opened the circuit, then the first fast rejection; the rest counted.
    expect(failed.map((l) => l.code)).toEqual(['UPSTREAM_HTTP_STATUS', 'UPSTREAM_CIRCUIT_OPEN'])
    expect(stack.logs.filter((l) => 'err' in l)).toEqual([])
    expect([...codes].sort()).toEqual(['UPSTREAM_CIRCUIT_OPEN', 'UPSTREAM_HTTP_STATUS'])
  })
})
