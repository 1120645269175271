/**
 * `pnpm demo`: starts the mock upstream and the service on real loopback ports, then tells two
 * stories (slow events, flapping upstream) with live output and a summary table. Runs in under
 * a minute and exits by itself.
 */
import { createMockUpstream, seedData } from '@userevents/mock-server'
import { pino } from 'pino'
import { DEFAULT_CONFIG, type ServiceConfig } from './config.js'
import { createDemoConsole, formatDuration } from './demo/console.js'
import { DEMO_BREAKER, flappingStory } from './demo/flapping.js'
import { DEMO_USER_ID, type SummaryRow, slowEventsStory } from './demo/slow-events.js'
import { createService } from './service.js'

async function demo(): Promise<void> {
  const c = createDemoConsole()
  const { style } = c
  const started = performance.now()

  // The seed data plus an empty user for story 1. Every delay is the original's: 500 ms event
  // reads, 100 ms before a flapping 503.
  const seed = seedData()
  const mock = createMockUpstream({
    mode: 'healthy',
    data: {
      users: [
        ...seed.users,
        { id: DEMO_USER_ID, userName: 'demo', email: 'demo@example.com', events: [] },
      ],
      events: seed.events,
    },
  })
  const config: ServiceConfig = {
    ...DEFAULT_CONFIG,
    port: 0,
    host: '127.0.0.1',
    upstreamBase: undefined,
    breaker: DEMO_BREAKER,
  }
  // The demo's console is the story; service logs would drown it. `DEMO_LOG_LEVEL=info` shows them.
  const logger = pino({ level: process.env.DEMO_LOG_LEVEL ?? 'silent' })
  const service = await createService(config, { logger, mock, defaultMetrics: false })
  const serviceUrl = await service.listen()

  c.heading(
    'userevents · event-service demo',
    'the Event Management service, rebuilt on the toolkit',
  )
  c.line(
    `mock upstream   ${style.cyan(service.upstreamUrl)}  (real port, loopback, original delays)`,
  )
  c.line(`event-service   ${style.cyan(serviceUrl)}`)

  const ctx = { c, mock, serviceUrl, upstreamUrl: service.upstreamUrl }
  const rows: SummaryRow[] = []
  try {
    rows.push(...(await slowEventsStory(ctx)))
    rows.push(...(await flappingStory({ ...ctx, client: service.client })))
  } finally {
    await service.close()
  }

  c.heading('Summary', 'measured in this run; the machine may be shared, so expect some noise')
  rows.push(['demo', 'wall time', formatDuration(performance.now() - started)])
  c.table(['story', 'measure', 'value'], rows)
  c.line()
  c.line(`Next: ${style.bold('pnpm start')} and the curl tour in examples/event-service/README.md`)
}

demo().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`)
  process.exit(1)
})
