import { Writable } from 'node:stream'
import {
  createMockUpstream,
  type MockUpstream,
  type MockUpstreamOptions,
  seedData,
} from '@userevents/mock-server'
import { pino } from 'pino'
import { DEFAULT_CONFIG, type ServiceConfig } from '../src/config.js'
import { createService, type Service } from '../src/service.js'
import type { Telemetry } from '../src/telemetry.js'

/** A running stack for one test: the mock upstream on a real loopback port and the service. */
export interface TestStack {
  service: Service
  mock: MockUpstream
  /** Every log line the service (and its client) wrote, parsed. */
  logs: Record<string, unknown>[]
  close(): Promise<void>
}

/** Deep-partial config overrides for tests. */
export interface ConfigOverrides extends Partial<Omit<ServiceConfig, 'upstream' | 'breaker'>> {
  upstream?: Partial<ServiceConfig['upstream']>
  breaker?: Partial<ServiceConfig['breaker']>
}

/**
 * Starts the mock (delays 0 by default, healthy, no random network errors) and the service on
 * it. Breaker and retry windows are scaled to milliseconds so no test waits for seconds.
 */
export async function startStack(
  options: {
    mock?: MockUpstreamOptions
    config?: ConfigOverrides
    logLevel?: string
    telemetry?: Telemetry
  } = {},
): Promise<TestStack> {
  const mock = createMockUpstream({
    mode: 'healthy',
    delays: 0,
    networkErrorRate: 0,
    ...options.mock,
  })
  const logs: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line))
      callback()
    },
  })
  const telemetry = options.telemetry
  const logger = pino(
    { level: options.logLevel ?? 'info', ...(telemetry ? { mixin: telemetry.logFields } : {}) },
    sink,
  )
  const o = options.config ?? {}
  const config: ServiceConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    host: '127.0.0.1',
    upstreamBase: undefined,
    ...o,
    upstream: { ...DEFAULT_CONFIG.upstream, timeoutMs: 1_000, deadlineMs: 2_000, ...o.upstream },
    breaker: { ...DEFAULT_CONFIG.breaker, resetTimeoutMs: 60_000, ...o.breaker },
  }
  const service = await createService(config, { logger, mock, defaultMetrics: false, telemetry })
  await service.app.ready()
  return { service, mock, logs, close: () => service.close() }
}

/** The seed data plus user "9" with `n` events ("e1".."en"), for pagination tests. */
export function dataWithBigUser(n: number): NonNullable<MockUpstreamOptions['data']> {
  const seed = seedData()
  const events = Array.from({ length: n }, (_, i) => ({
    id: `e${i + 1}`,
    name: `event ${i + 1}`,
    userId: '9',
    details: `details ${i + 1}`,
  }))
  return {
    users: [
      ...seed.users,
      { id: '9', userName: 'nine', email: 'nine@example.com', events: events.map((e) => e.id) },
    ],
    events: [...seed.events, ...events],
  }
}
