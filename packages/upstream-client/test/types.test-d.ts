import pino from 'pino'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type CircuitState,
  createUpstreamClient,
  isUpstreamErrorCode,
  type RampChangeEvent,
  type UpstreamClient,
  type UpstreamHttpError,
  type UpstreamTimeoutError,
} from '../src/index.js'

interface User {
  id: string
  userName: string
  email: string
  events: string[]
}

declare const client: UpstreamClient

describe('public types', () => {
  it('types get<T> and post<T> results', () => {
    expectTypeOf(client.get<User>('/getUserById/1')).toEqualTypeOf<Promise<User>>()
    expectTypeOf(client.post<{ success: boolean }>('/addEvent', { name: 'a' })).toEqualTypeOf<
      Promise<{ success: boolean }>
    >()
    expectTypeOf(client.get('/x')).toEqualTypeOf<Promise<unknown>>()
    expectTypeOf(client.circuitState).toEqualTypeOf<CircuitState>()
  })

  it('accepts call and write options, and rejects unknown ones', () => {
    client.get('/x', { signal: AbortSignal.timeout(1), requestId: 'r', cache: false })
    client.post('/x', {}, { idempotencyKey: 'k' })
    // @ts-expect-error idempotencyKey is only for writes
    client.get('/x', { idempotencyKey: 'k' })
    // @ts-expect-error the body is required for post
    client.post('/x')
  })

  it('narrows errors by code', () => {
    const error: unknown = new Error()
    if (isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS')) {
      expectTypeOf(error).toEqualTypeOf<UpstreamHttpError>()
      expectTypeOf(error.status).toEqualTypeOf<number>()
    }
    if (isUpstreamErrorCode(error, 'UPSTREAM_TIMEOUT')) {
      expectTypeOf(error).toEqualTypeOf<UpstreamTimeoutError>()
    }
  })

  it('accepts a pino logger and returns unsubscribe functions from hooks', () => {
    const c = createUpstreamClient({ baseUrl: 'http://x', logger: pino({ level: 'silent' }) })
    expectTypeOf(c.onRetry(() => {})).toEqualTypeOf<() => void>()
    expectTypeOf(c.onStateChange).parameter(0).parameter(0).toHaveProperty('to')
    expectTypeOf(c.onRampChange).parameter(0).parameter(0).toEqualTypeOf<RampChangeEvent>()
    expectTypeOf<RampChangeEvent['phase']>().toEqualTypeOf<
      'started' | 'widened' | 'finished' | 'aborted'
    >()
  })
})
