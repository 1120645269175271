import pino from 'pino'
import { describe, expectTypeOf, it } from 'vitest'
import {
  type CircuitState,
  createCircuitBreaker,
  createUpstreamClient,
  isUpstreamErrorCode,
  path,
  type RampChangeEvent,
  type SharedLoadV2Result,
  type SharedStore,
  type SharedStoreV1,
  toSharedStore,
  type UpstreamClient,
  type UpstreamClientClosedError,
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

  it('accepts breaker options, false or a shared breaker, and rejects other values', () => {
    const shared = createCircuitBreaker({ name: 'event-api', failureThreshold: 3 })
    createUpstreamClient({ baseUrl: 'http://x', breaker: shared })
    createUpstreamClient({ baseUrl: 'http://x', breaker: { failureThreshold: 3 } })
    createUpstreamClient({ baseUrl: 'http://x', breaker: false })
    // @ts-expect-error true is not a breaker
    createUpstreamClient({ baseUrl: 'http://x', breaker: true })
    // @ts-expect-error a shared breaker needs a name
    createCircuitBreaker({ failureThreshold: 3 })
    expectTypeOf(shared.state).toEqualTypeOf<CircuitState>()
    expectTypeOf(shared.onRampChange).parameter(0).parameter(0).toEqualTypeOf<RampChangeEvent>()
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
    if (isUpstreamErrorCode(error, 'UPSTREAM_CLIENT_CLOSED')) {
      expectTypeOf(error).toEqualTypeOf<UpstreamClientClosedError>()
      expectTypeOf(error.code).toEqualTypeOf<'UPSTREAM_CLIENT_CLOSED'>()
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

  it('types the path tag, query, operation and per-operation states', () => {
    expectTypeOf(path`/getUserById/${1}`).toEqualTypeOf<string>()
    // @ts-expect-error objects are not path values
    path`/getUserById/${{}}`
    const c = createUpstreamClient({ baseUrl: 'http://x', maxInFlight: 10, maxOperations: 20 })
    expectTypeOf(c.circuitStates()).toEqualTypeOf<Record<string, CircuitState>>()
    void c.get('/e', { operation: 'getEvents', query: { ids: [1, 2], from: undefined } })
    // @ts-expect-error query values are scalars or arrays of them
    void c.get('/e', { query: { a: { b: 1 } } })
    const error: unknown = new Error()
    if (isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')) {
      expectTypeOf(error.operation).toEqualTypeOf<string>()
      expectTypeOf(error.retryAfterMs).toEqualTypeOf<number>()
    }
  })

  it('types the shared-store contracts: v2 fetches decide their lifetime, v1 stores are accepted', () => {
    const v2 = {} as SharedStore
    const v1 = {} as SharedStoreV1
    createUpstreamClient({ baseUrl: 'http://x', cache: { ttlMs: 1 }, store: v2 })
    createUpstreamClient({ baseUrl: 'http://x', cache: { ttlMs: 1 }, store: v1 })
    expectTypeOf(toSharedStore(v1, 1_000)).toEqualTypeOf<SharedStore>()
    expectTypeOf(
      v2.load<User>('k', async (stale) => {
        expectTypeOf(stale?.value).toEqualTypeOf<User | undefined>()
        return { value: stale?.value ?? ({} as User), freshMs: 1, keepMs: 2 }
      }),
    ).toEqualTypeOf<Promise<SharedLoadV2Result<User>>>()
    v2.load('k', async () => ({ value: 1, store: false as const }))
    // @ts-expect-error: a v2 fetch returns its lifetime, not the bare value
    v2.load('k', async () => 1)
    // @ts-expect-error: v2 `set` takes { freshMs, keepMs }, not a ttl
    v2.set('k', 1, 1_000)
  })
})
