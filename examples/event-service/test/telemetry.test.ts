import { hostname, userInfo } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTelemetry, type Telemetry } from '../src/telemetry.js'
import { startStack, type TestStack } from './helpers.js'

// One SDK for the file: it registers process-wide providers, as it does in the running service.
let telemetry: Telemetry
let stack: TestStack

beforeAll(async () => {
  telemetry = (await startTelemetry({})) as Telemetry
  stack = await startStack({ telemetry, logLevel: 'debug' })
})

afterAll(async () => {
  await stack?.close()
  await telemetry?.shutdown()
  // The SDK registered globals; later test files of this worker must not inherit them.
  const { context, metrics, propagation, trace } = await import('@opentelemetry/api')
  trace.disable()
  metrics.disable()
  propagation.disable()
  context.disable()
})

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736'
const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`

describe('OpenTelemetry in the service', () => {
  it('an incoming traceparent reaches the upstream with the same trace id', async () => {
    stack.mock.clearRequests()
    const res = await stack.service.app.inject({
      method: 'GET',
      url: '/users/1/events?limit=2',
      headers: { traceparent: PARENT },
    })
    expect(res.statusCode).toBe(200)
    const sent = stack.mock.requests()
    expect(sent.length).toBeGreaterThanOrEqual(2) // the user, then its events
    for (const r of sent) {
      const [version, traceId, spanId, flags] = (r.headers.traceparent ?? '').split('-')
      expect({ version, traceId, flags }).toEqual({ version: '00', traceId: TRACE_ID, flags: '01' })
      // Each attempt is its own CLIENT span: never the caller's span id.
      expect(spanId).not.toBe('00f067aa0ba902b7')
    }
  })

  it('log lines of the request carry its trace_id and span_id', async () => {
    // Another trace than the first test's, whose calls opened the kept-alive upstream sockets:
    // the client's attempt lines must carry this request's ids, not the socket opener's.
    const traceId = 'a'.repeat(32)
    stack.logs.length = 0
    await stack.service.app.inject({
      method: 'GET',
      url: '/users/2/events',
      headers: { traceparent: `00-${traceId}-${'b'.repeat(16)}-01` },
    })
    expect(stack.logs.filter((l) => l.trace_id === TRACE_ID)).toEqual([])
    const traced = stack.logs.filter((l) => l.trace_id === traceId)
    expect(traced.length).toBeGreaterThan(0)
    for (const line of traced) expect(line.span_id).toMatch(/^[0-9a-f]{16}$/)
    // The client's attempt lines (debug) are among them: the upstream calls of this request.
    expect(traced.some((l) => l.msg === 'upstream attempt')).toBe(true)
  })

  it('/metrics reveals nothing about the host: no command line, file path, owner or host name', async () => {
    const res = await stack.service.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.body).toMatch(/^target_info\{.*service_name="event-service"/m)
    for (const attribute of [
      'process_command',
      'process_executable',
      'process_owner',
      'process_pid',
      'host_name',
      'host_id',
    ]) {
      expect(res.body).not.toContain(attribute)
    }
    for (const secret of [process.cwd(), process.execPath, hostname(), userInfo().username]) {
      expect(res.body).not.toContain(secret)
    }
  })

  it('/metrics serves the semantic-convention client histogram beside the service series', async () => {
    await stack.service.app.inject({ method: 'GET', url: '/users/3/events' })
    const res = await stack.service.app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    const lines = res.body.split('\n')
    const bucket = lines.find(
      (l) =>
        l.startsWith('http_client_request_duration_seconds_bucket{') &&
        l.includes('http_request_method="GET"') &&
        l.includes('server_address="127.0.0.1"') &&
        l.includes('http_response_status_code="200"'),
    )
    expect(bucket).toBeDefined()
    expect(lines).toContain('# TYPE http_client_request_duration_seconds histogram')
    // prom-client's own series are still there.
    expect(res.body).toMatch(/^http_requests_total\{/m)
  })

  it('a /getUsers answered from the client cache is counted as a hit on /metrics', async () => {
    const hits = async () => {
      const body = (await stack.service.app.inject({ method: 'GET', url: '/metrics' })).body
      const line = body
        .split('\n')
        .find(
          (l) =>
            l.startsWith('userevents_client_cache_lookups_total{') &&
            l.includes('userevents_cache_result="hit"') &&
            l.includes('userevents_operation="getUsers"'),
        )
      return line === undefined ? 0 : Number(line.split(' ').at(-1))
    }
    await stack.service.app.inject({ method: 'GET', url: '/getUsers' })
    const before = await hits()
    await stack.service.app.inject({ method: 'GET', url: '/getUsers' })
    await stack.service.app.inject({ method: 'GET', url: '/getUsers' })
    expect((await hits()) - before).toBe(2)
  })
})
