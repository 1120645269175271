import { afterEach, describe, expect, it } from 'vitest'
import { startStack, type TestStack } from './helpers.js'

/** The value of one sample line of the Prometheus text format, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('GET /metrics', () => {
  let stack: TestStack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('serves requests, upstream latency, cache and the circuit gauge in Prometheus format', async () => {
    stack = await startStack()
    const { app } = stack.service
    for (let i = 0; i < 2; i++) {
      expect((await app.inject({ method: 'GET', url: '/getEventsByUserId/1' })).statusCode).toBe(
        200,
      )
      expect((await app.inject({ method: 'GET', url: '/getUsers' })).statusCode).toBe(200)
    }
    await app.inject({ method: 'GET', url: '/getEventsByUserId/1?limit=0' })

    const res = await app.inject({ method: 'GET', url: '/metrics' })
    expect(res.statusCode).toBe(200)
    expect(res.headers['content-type']).toMatch(/^text\/plain/)
    const text = res.body
    expect(sample(text, 'upstream_circuit_state{upstream="events"}')).toBe(0)
    // No recovery ramp is limiting traffic (Prometheus spells infinity `+Inf`).
    expect(text).toContain('upstream_ramp_allowed_in_flight{upstream="events"} +Inf\n')
    expect(
      sample(
        text,
        'http_requests_total{method="GET",route="/getEventsByUserId/:id",status_code="200"}',
      ),
    ).toBe(2)
    expect(
      sample(
        text,
        'http_requests_total{method="GET",route="/getEventsByUserId/:id",status_code="400"}',
      ),
    ).toBe(1)
    expect(
      sample(
        text,
        'upstream_request_duration_seconds_count{upstream="events",method="GET",route="/getEventById",status="200"}',
      ),
    ).toBe(2)
    // The second /getUsers comes from the client's GET cache; the second user lookup from the
    // aggregator's user cache, whose reads skip the client's (one cache per value).
    expect(sample(text, 'upstream_cache_hits_total{upstream="events",stale="false"}')).toBe(1)
    // The first /getUsers; the user and event reads bypass the client's cache, so they are no misses.
    expect(sample(text, 'upstream_cache_misses_total{upstream="events"}')).toBe(1)
  })

  it('counts retries and shows the open circuit', async () => {
    stack = await startStack({
      mock: { mode: 'down' },
      config: {
        upstream: { retries: 1 },
        breaker: { failureThreshold: 2, resetTimeoutMs: 60_000 },
      },
    })
    const { app } = stack.service
    expect((await app.inject({ method: 'GET', url: '/getEvents' })).statusCode).toBe(503)
    const text = (await app.inject({ method: 'GET', url: '/metrics' })).body
    expect(
      sample(
        text,
        'upstream_retries_total{upstream="events",method="GET",route="/getEvents",code="UPSTREAM_HTTP_STATUS"}',
      ),
    ).toBe(1)
    expect(sample(text, 'upstream_circuit_state{upstream="events"}')).toBe(2)
    expect(sample(text, 'upstream_circuit_transitions_total{upstream="events",to="open"}')).toBe(1)
    expect(
      sample(text, 'http_requests_total{method="GET",route="/getEvents",status_code="503"}'),
    ).toBe(1)
  })

  it('with METRICS_PORT, /metrics is served on its own listener and not on the main port', async () => {
    stack = await startStack({ config: { metricsPort: 0, metricsHost: '127.0.0.1' } })
    const url = await stack.service.listen()
    const metricsUrl = stack.service.metricsUrl
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(metricsUrl).not.toBe(url)
    expect((await fetch(`${url}/getUsers`)).status).toBe(200)
    const main = await fetch(`${url}/metrics`)
    expect(main.status).toBe(404)
    await main.text()
    const own = await fetch(`${metricsUrl}/metrics`)
    expect(own.status).toBe(200)
    expect(
      sample(
        await own.text(),
        'http_requests_total{method="GET",route="/getUsers",status_code="200"}',
      ),
    ).toBe(1)
    // Only /metrics there: the service's routes are not reachable through the metrics port.
    const other = await fetch(`${metricsUrl}/getUsers`)
    expect(other.status).toBe(404)
    await other.text()
  })
})
