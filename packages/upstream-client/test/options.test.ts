import { describe, expect, it } from 'vitest'
import {
  createUpstreamClient,
  InvalidOptionError,
  isUpstreamErrorCode,
  UpstreamClientClosedError,
  type UpstreamClientOptions,
} from '../src/index.js'

/** Returns the message of the error thrown by constructing a client with `options`. */
function messageOf(options: unknown): string {
  try {
    createUpstreamClient(options as UpstreamClientOptions)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_OPTION')).toBe(true)
    return (error as Error).message
  }
  throw new Error('expected the options to be rejected')
}

const baseUrl = 'http://127.0.0.1:1'

describe('option validation', () => {
  it.each([
    [
      { baseUrl, retry: { retries: -1 } },
      'Expected `retry.retries` to be a non-negative integer, got -1',
    ],
    [
      { baseUrl, retry: { retries: 1.5 } },
      'Expected `retry.retries` to be a non-negative integer, got 1.5',
    ],
    [{ baseUrl: 'event.com' }, 'Expected `baseUrl` to be an absolute http(s) URL, got "event.com"'],
    [{ baseUrl: 'ftp://x' }, 'Expected `baseUrl` to be an absolute http(s) URL, got "ftp://x"'],
    [
      { baseUrl: 'http://x/?a=1' },
      'Expected `baseUrl` to be a URL without query or fragment, got "http://x/?a=1"',
    ],
    [{}, 'Expected `baseUrl` to be an absolute http(s) URL, got undefined'],
    [
      { baseUrl, timeoutMs: 0 },
      'Expected `timeoutMs` to be a positive number up to 2147483647, got 0',
    ],
    [
      { baseUrl, timeoutMs: '5s' },
      'Expected `timeoutMs` to be a positive number up to 2147483647, got "5s"',
    ],
    [
      { baseUrl, deadlineMs: -5 },
      'Expected `deadlineMs` to be a positive number or Infinity, got -5',
    ],
    [{ baseUrl, connections: 0 }, 'Expected `connections` to be a positive integer, got 0'],
    [
      { baseUrl, maxBodyBytes: Number.NaN },
      'Expected `maxBodyBytes` to be a positive integer, got NaN',
    ],
    [
      { baseUrl, retry: { factor: 0.5 } },
      'Expected `retry.factor` to be a finite number >= 1, got 0.5',
    ],
    [
      { baseUrl, retry: { minDelayMs: 500, maxDelayMs: 100 } },
      'Expected `retry.maxDelayMs` to be >= retry.minDelayMs (500), got 100',
    ],
    [{ baseUrl, retry: true }, 'Expected `retry` to be an object or false, got true'],
    [
      { baseUrl, breaker: { failureThreshold: 0 } },
      'Expected `breaker.failureThreshold` to be a positive integer, got 0',
    ],
    [
      { baseUrl, breaker: { windowMs: -1 } },
      'Expected `breaker.windowMs` to be a positive number, got -1',
    ],
    [
      { baseUrl, breaker: { isFailure: 'yes' } },
      'Expected `breaker.isFailure` to be a function, got "yes"',
    ],
    [
      { baseUrl, cache: { max: 10 } },
      'Expected `cache.ttlMs` to be a positive number, got undefined',
    ],
    [
      { baseUrl, cache: { ttlMs: 1, maxBytes: 0 } },
      'Expected `cache.maxBytes` to be a positive integer, got 0',
    ],
    [
      { baseUrl, headers: { 'x-a': 1 } },
      'Expected `headers.x-a` to be a string without CR, LF or NUL, got 1',
    ],
    [
      { baseUrl, logger: {} },
      'Expected `logger` to be a pino-compatible logger (child, debug, info, warn, error), got {}',
    ],
    [{ baseUrl, dispatcher: {} }, 'Expected `dispatcher` to be an undici Dispatcher, got {}'],
    [
      { baseUrl, cache: { ttlMs: 1 }, store: { get() {}, set() {} } },
      'Expected `store` to be a SharedStore (e.g. createRedisStore() from @userevents/redis), got an object without the shared-store brand',
    ],
    [
      {
        baseUrl,
        store: { kind: 'userevents.shared-store.v1', load() {}, set() {}, delete() {} },
      },
      'Expected `cache` to be set when `store` is given: the shared tier sits behind the local cache and uses its `ttlMs`',
    ],
    [
      { baseUrl, retries: 3 },
      'Unknown option `retries`; expected one of baseUrl, name, logger, dispatcher, connections, timeoutMs, deadlineMs, retry, breaker, maxOperations, maxInFlight, maxWaiting, cache, store, maxBodyBytes, headers, clock, deadlineHeader, adaptiveLimit, rateLimit, telemetry, steps, hedge',
    ],
    [
      { baseUrl, breaker: { threshold: 3 } },
      'Unknown option `breaker.threshold`; expected one of failureThreshold, windowMs, resetTimeoutMs, maxQueued, rampLimit, isFailure, store',
    ],
  ])('rejects %j', (options, message) => {
    expect(messageOf(options)).toBe(message)
  })

  it('names the option and keeps the value on the error', () => {
    try {
      createUpstreamClient({ baseUrl, retry: { retries: -1 } })
    } catch (error) {
      expect(error).toMatchObject({ option: 'retry.retries', value: -1 })
    }
    expect.assertions(1)
  })

  it('validates per-call options when the call is made', async () => {
    const client = createUpstreamClient({ baseUrl })
    await expect(client.get('/x', { timeoutMs: -1 })).rejects.toThrow(
      'Expected `timeoutMs` to be a positive number up to 2147483647, got -1',
    )
    await client.close()
  })

  it('rejects calls after close()', async () => {
    const client = createUpstreamClient({ baseUrl })
    await client.close()
    const error = await client.get('/x').catch((e: unknown) => e)
    // Its own code, not UPSTREAM_NETWORK: a call after close is a bug in the caller, not an outage.
    expect(error).toBeInstanceOf(UpstreamClientClosedError)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_CLIENT_CLOSED')).toBe(true)
    expect(error).toMatchObject({
      code: 'UPSTREAM_CLIENT_CLOSED',
      attempts: 0,
      cause: { code: 'UPSTREAM_CLIENT_CLOSED' },
    })
    expect((error as Error).message).toMatch(
      /^GET http:\/\/127\.0\.0\.1:\d+\/x: the client has been closed/,
    )
  })

  it('accepts a minimal configuration and exposes name and state', async () => {
    const client = createUpstreamClient({ baseUrl: 'http://event.com/api' })
    expect(client.name).toBe('http://event.com')
    expect(client.circuitState).toBe('closed')
    await client.close()
  })
})
