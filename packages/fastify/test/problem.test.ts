import {
  AggregatorValidationError,
  EventNotFoundError,
  InvalidUpstreamDataError,
  UpstreamUnavailableError,
  UserNotFoundError,
} from '@userevents/event-aggregator'
import {
  BodyTooLargeError,
  CircuitOpenError,
  createUpstreamClient,
  InvalidBodyError,
  InvalidOptionError,
  UpstreamAbortError,
  UpstreamHttpError,
  UpstreamNetworkError,
  UpstreamRateLimitedError,
  UpstreamTimeoutError,
} from '@userevents/upstream-client'
import { describe, expect, it } from 'vitest'
import { InvalidQueryError, parsePageQuery, toHttpProblem } from '../src/index.js'

const call = { method: 'GET', url: 'http://127.0.0.1:9/x', attempts: 1 }

/** Builds an error the way the client does, through its public constructors. */
const http = (status: number, extra: { body?: unknown; retryAfterMs?: number } = {}) =>
  new UpstreamHttpError({ ...call, status, ...extra } as ConstructorParameters<
    typeof UpstreamHttpError
  >[0])

function catchQuery(query: unknown): unknown {
  try {
    parsePageQuery(query)
  } catch (err) {
    return err
  }
  throw new Error('parsePageQuery did not throw')
}

describe('toHttpProblem: every row of the table', () => {
  it('a spent quota (rateLimit) is 503 UPSTREAM_RATE_LIMITED with Retry-After, never 500, and no upstream text', () => {
    const refused = new UpstreamRateLimitedError({ ...call, bucket: 'events', retryAfterMs: 1_200 })
    const upstream429 = new UpstreamRateLimitedError({
      ...call,
      bucket: 'events',
      status: 429,
      retryAfterMs: 3_000,
      cause: http(429, { body: { message: 'secret tenant 42 over quota' } }),
    })
    for (const [err, seconds] of [
      [refused, '2'],
      [upstream429, '3'],
    ] as const) {
      const p = toHttpProblem(err)
      expect(p.statusCode).toBe(503)
      expect(p.headers['retry-after']).toBe(seconds)
      expect(p.body).toMatchObject({ code: 'UPSTREAM_RATE_LIMITED', error: 'Service Unavailable' })
      expect(JSON.stringify(p.body)).not.toContain('secret')
      expect(JSON.stringify(p.body)).not.toContain('127.0.0.1')
      expect(p.logStack).toBe(false)
    }
  })

  it('an open circuit is 503 UPSTREAM_CIRCUIT_OPEN with Retry-After, whichever package raised it', () => {
    const fromClient = new CircuitOpenError({
      ...call,
      breaker: 'events',
      retryAfterMs: 4_200,
    } as ConstructorParameters<typeof CircuitOpenError>[0])
    const fromAggregator = new UpstreamUnavailableError('user 1', {
      cause: fromClient,
      retryAfterMs: 4_200,
    })
    for (const err of [fromClient, fromAggregator]) {
      const p = toHttpProblem(err)
      expect(p.statusCode).toBe(503)
      expect(p.headers['retry-after']).toBe('5')
      expect(p.body).toMatchObject({
        code: 'UPSTREAM_CIRCUIT_OPEN',
        retryAfterSeconds: 5,
        error: 'Service Unavailable',
      })
      expect(p.logLevel).toBe('warn')
      expect(p.logStack).toBe(false)
    }
  })

  it('maps each upstream failure by its code', () => {
    const cases: [unknown, number, string | undefined][] = [
      [
        new UpstreamNetworkError({
          ...call,
          cause: new Error('ECONNREFUSED'),
        } as ConstructorParameters<typeof UpstreamNetworkError>[0]),
        503,
        'UPSTREAM_NETWORK',
      ],
      [
        new UpstreamAbortError({ ...call } as ConstructorParameters<typeof UpstreamAbortError>[0]),
        503,
        'UPSTREAM_ABORTED',
      ],
      [
        new UpstreamTimeoutError({
          ...call,
          timeoutMs: 10,
          kind: 'attempt',
        } as unknown as ConstructorParameters<typeof UpstreamTimeoutError>[0]),
        504,
        'UPSTREAM_TIMEOUT',
      ],
      [new UserNotFoundError('7'), 404, 'USER_NOT_FOUND'],
      [new EventNotFoundError('e1'), 404, 'EVENT_NOT_FOUND'],
      [http(404), 404, 'UPSTREAM_NOT_FOUND'],
      [http(400, { body: { message: 'unknown user 99' } }), 400, 'UPSTREAM_REJECTED'],
      [http(503), 503, 'UPSTREAM_HTTP_STATUS'],
      [http(429, { retryAfterMs: 2_000 }), 503, 'UPSTREAM_HTTP_STATUS'],
      [http(409), 502, 'UPSTREAM_HTTP_STATUS'],
      [
        new InvalidBodyError({
          ...call,
          status: 200,
          cause: new SyntaxError('x'),
        } as unknown as ConstructorParameters<typeof InvalidBodyError>[0]),
        502,
        'UPSTREAM_INVALID_BODY',
      ],
      [
        new BodyTooLargeError({
          ...call,
          status: 200,
          limitBytes: 10,
        } as unknown as ConstructorParameters<typeof BodyTooLargeError>[0]),
        502,
        'UPSTREAM_BODY_TOO_LARGE',
      ],
      [new InvalidUpstreamDataError('user.events is not an array'), 502, 'UPSTREAM_INVALID_DATA'],
      [new AggregatorValidationError('limit', 'an integer', 0), 400, 'INVALID_ARGUMENT'],
      [catchQuery({ limit: '0x10' }), 400, 'INVALID_INPUT'],
      [
        new InvalidOptionError('retry.retries', 'a non-negative integer', -1),
        500,
        'UPSTREAM_INVALID_OPTION',
      ],
      [
        Object.assign(new Error('Body is too large'), {
          statusCode: 413,
          code: 'FST_ERR_CTP_BODY_TOO_LARGE',
        }),
        413,
        'FST_ERR_CTP_BODY_TOO_LARGE',
      ],
      [
        Object.assign(new Error('body/name must be string'), { statusCode: 400, validation: [{}] }),
        400,
        'INVALID_INPUT',
      ],
      [new TypeError('x is undefined'), 500, undefined],
      ['a thrown string', 500, undefined],
    ]
    for (const [err, status, code] of cases) {
      const p = toHttpProblem(err)
      expect({ status: p.statusCode, code: p.body.code }, String(err)).toEqual({ status, code })
      if (status === 503) expect(Number(p.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      else expect(p.headers['retry-after']).toBeUndefined()
    }
  })

  it('never copies the upstream text into the answer, returns it for a debug log, keeps Retry-After on a 429', () => {
    const secret = 'row missing in users_v2@db-7'
    for (const status of [400, 404, 409, 500, 503]) {
      for (const body of [{ message: secret }, { error: secret }]) {
        const p = toHttpProblem(http(status, { body }), { format: 'problem+json' })
        expect(JSON.stringify(p.body), String(status)).not.toContain('users_v2')
        expect(p.upstreamMessage).toBe(secret)
      }
    }
    expect(toHttpProblem(http(404, { body: { message: secret } })).body).toEqual({
      error: 'Not Found',
      message: 'Not Found',
      code: 'UPSTREAM_NOT_FOUND',
    })
    expect(toHttpProblem(http(404)).upstreamMessage).toBeUndefined()
    expect(toHttpProblem(http(429, { retryAfterMs: 2_000 })).headers['retry-after']).toBe('2')
  })

  it('answers 500 without Retry-After for a call after close(), whichever copy raised it', async () => {
    const client = createUpstreamClient({ baseUrl: 'http://127.0.0.1:9' })
    await client.close()
    const closed = await client.get('/x').catch((e: unknown) => e)
    // An older copy of the client, or one this package does not know: the code alone decides.
    const foreign = Object.assign(new Error('closed'), { code: 'UPSTREAM_CLIENT_CLOSED' })
    for (const err of [closed, foreign]) {
      const p = toHttpProblem(err, { format: 'problem+json' })
      expect(p).toMatchObject({ statusCode: 500, logLevel: 'error', logStack: true })
      expect(p.headers['retry-after']).toBeUndefined()
      expect(p.body).toMatchObject({ status: 500, code: 'UPSTREAM_CLIENT_CLOSED' })
    }
  })

  it('never leaks the message of an unexpected error, and logs it with its stack', () => {
    const p = toHttpProblem(new Error('secret table name'))
    expect(p.body).toEqual({ error: 'Internal Server Error', message: 'Internal server error' })
    expect(p).toMatchObject({ logLevel: 'error', logStack: true })
  })

  it('logs expected rejections without a stack', () => {
    expect(toHttpProblem(new UserNotFoundError('7'))).toMatchObject({
      logLevel: 'info',
      logStack: false,
    })
    expect(toHttpProblem(catchQuery({ offset: '-1' }))).toMatchObject({
      logLevel: 'info',
      logStack: false,
    })
  })

  it('answers RFC 9457 problem details as an option', () => {
    const p = toHttpProblem(new UpstreamUnavailableError('user 1', { retryAfterMs: 1_500 }), {
      format: 'problem+json',
    })
    expect(p.headers).toEqual({
      'retry-after': '2',
      'content-type': 'application/problem+json; charset=utf-8',
    })
    expect(p.body).toEqual({
      type: 'about:blank',
      title: 'Service Unavailable',
      status: 503,
      detail: 'The upstream is unavailable (circuit open); retry later',
      code: 'UPSTREAM_CIRCUIT_OPEN',
      retryAfterSeconds: 2,
    })
  })

  it('recognises an error of another copy of a package by its brand', () => {
    const foreign = new UserNotFoundError('7')
    Object.setPrototypeOf(foreign, Error.prototype)
    expect(foreign instanceof UserNotFoundError).toBe(false)
    expect(toHttpProblem(foreign).statusCode).toBe(404)
  })
})

describe('parsePageQuery', () => {
  it('accepts integers written in digits and types the field list', () => {
    const q = parsePageQuery({ limit: '20', offset: '0', fields: 'userId,name' }, { maxLimit: 100 })
    expect(q).toEqual({
      limit: 20,
      offset: 0,
      fields: ['id', 'name', 'userId'],
      rawFields: 'userId,name',
    })
    expect(parsePageQuery({})).toEqual({
      limit: undefined,
      offset: undefined,
      fields: undefined,
      rawFields: undefined,
    })
  })

  it.each(['0x10', '2e1', ' 5', '5 ', '1.0', '+5', '-1', '', '１２'])(
    'rejects limit=%j',
    (limit) => {
      const err = catchQuery({ limit })
      expect(err).toBeInstanceOf(InvalidQueryError)
      expect((err as Error).message).toBe(
        `querystring.limit must be an integer written in digits, got ${JSON.stringify(limit)}`,
      )
    },
  )

  it('checks the range and the field names, naming the value', () => {
    expect((catchQuery({ limit: '500' }) as Error).message).toBe(
      'querystring.limit must be <= 200, got 500',
    )
    expect((catchQuery({ limit: '0' }) as Error).message).toBe(
      'querystring.limit must be >= 1, got 0',
    )
    expect((catchQuery({ offset: '1000001' }) as Error).message).toBe(
      'querystring.offset must be <= 1000000, got 1000001',
    )
    expect((catchQuery({ fields: 'name,color' }) as Error).message).toBe(
      'querystring.fields must be a comma-separated list of id, name, userId, details, got "name,color"',
    )
  })
})
