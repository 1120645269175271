import type http from 'node:http'
import { SpanKind } from '@opentelemetry/api'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createUpstreamClient } from '../src/index.js'
import { closeAfterEach, json, startServer, TestClock } from './helpers.js'
import { startTestSdk, sumOf, type TestSdk } from './otel.js'

const open = closeAfterEach()
let sdk: TestSdk | undefined
afterEach(async () => {
  await sdk?.shutdown()
  sdk = undefined
})

describe('hedge telemetry', () => {
  it('attempt spans carry resend_count, the loser ends superseded; metrics count sent and won', async () => {
    sdk = startTestSdk()
    const held: http.ServerResponse[] = []
    open.server = await startServer((_req, res) => {
      held.push(res)
    })
    const clock = new TestClock()
    const c = createUpstreamClient({
      baseUrl: open.server.origin,
      clock,
      hedge: { delayMs: 20, maxExtraLoad: 1 },
    })
    open.client = c
    const call = c.get('/a', { operation: 'a' })
    await vi.waitFor(() => expect(held.length).toBe(1))
    clock.advance(20)
    await vi.waitFor(() => expect(held.length).toBe(2))
    json(held[1] as http.ServerResponse, 200, { hedge: true })
    expect(await call).toEqual({ hedge: true })

    const attempts = sdk.spans.getFinishedSpans().filter((s) => s.kind === SpanKind.CLIENT)
    expect(attempts).toHaveLength(2)
    const first = attempts.find((s) => s.attributes['http.request.resend_count'] === undefined)
    const hedge = attempts.find((s) => s.attributes['http.request.resend_count'] === 1)
    expect(first?.attributes['userevents.attempt.superseded']).toBe(true)
    expect(first?.status.code).not.toBe(2) // not ERROR
    expect(hedge?.attributes['http.response.status_code']).toBe(200)

    const m = await sdk.collect()
    const hedges = m.get('userevents.client.hedges')
    expect(sumOf(hedges, { 'userevents.hedge.result': 'sent' })).toBe(1)
    expect(sumOf(hedges, { 'userevents.hedge.result': 'won' })).toBe(1)
    expect(open.server.requests).toBe(2)
  })
})
