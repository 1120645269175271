import { type MockUpstream, seedEvents } from '@userevents/mock-server'
import { type DemoConsole, formatDuration } from './console.js'
import { send } from './http.js'

/** One row of the demo's summary table. */
export type SummaryRow = [story: string, measure: string, value: string]

/** What each story needs from the running demo. */
export interface StoryContext {
  c: DemoConsole
  /** Base URL of the running service. */
  serviceUrl: string
  /** Base URL of the running mock upstream (the demo talks to it directly only to time it). */
  upstreamUrl: string
  mock: MockUpstream
}

/** The user the demo seeds; created empty in the mock's data set. */
export const DEMO_USER_ID = '42'
const EVENT_COUNT = 1_000
const PAGE_SIZE = 50

/**
 * Story 1: a user with 1,000 events, an upstream that takes 500 ms per event read. The original
 * service fanned out over every event; this one answers one page in one round trip, from cache on
 * the second read, and page 20 in one round trip too.
 */
export async function slowEventsStory(ctx: StoryContext): Promise<SummaryRow[]> {
  const { c, mock, serviceUrl, upstreamUrl } = ctx
  const { style } = c
  const story = 'slow events'
  c.heading(
    '1 · The slow-events story',
    `GET /getEventById takes ${style.bold('500 ms')} upstream, on purpose. User ${DEMO_USER_ID} gets ${EVENT_COUNT.toLocaleString('en')} events.`,
  )

  // Healthy mode for seeding only: 1,000 writes through the flapping cycle would spend most of
  // the minute in breaker waits, and story 2 shows exactly that on a smaller burst.
  mock.setMode('healthy')
  c.line(
    `Seeding ${EVENT_COUNT.toLocaleString('en')} events through the service's POST /addEvent, 50 at a time ${style.dim('(upstream switched to healthy mode for the seeding; story 2 seeds through the flapping upstream)')}`,
  )
  c.resetClock()
  const seedStart = performance.now()
  const seeded = await seedEvents({
    target: serviceUrl,
    count: EVENT_COUNT,
    userId: DEMO_USER_ID,
    concurrency: 50,
    makeEvent: (i) => ({
      name: `seeded-${String(i + 1).padStart(4, '0')}`,
      details: 'seeded by pnpm demo',
    }),
    onProgress: (p) =>
      c.progress('seeding', p.added + p.failed, p.total, p.failed > 0 ? `${p.failed} failed` : ''),
  })
  c.endProgress()
  const seedMs = performance.now() - seedStart
  c.at(
    `seeded ${seeded.added.toLocaleString('en')} events in ${formatDuration(seedMs)} with seedEvents() from @userevents/mock-server (${seeded.failed} failed, ${seeded.retries} retries); user ${DEMO_USER_ID} now has ${mock.store.getUser(DEMO_USER_ID)?.events.length ?? 0} events upstream`,
  )

  // The original service's cost, computed from a delay measured now rather than assumed.
  const oneEventId = mock.store.getUser(DEMO_USER_ID)?.events[0] ?? '1'
  const probe = await send('GET', `${upstreamUrl}/getEventById/${oneEventId}`)
  const delay = probe.ms
  const serialMs = (EVENT_COUNT + 1) * delay
  c.line()
  c.line(`One upstream GET /getEventById, measured: ${style.bold(formatDuration(delay))}`)
  c.line(
    `The original service, serial awaits: 1 + ${EVENT_COUNT.toLocaleString('en')} calls × ${formatDuration(delay)} ≈ ${style.red(formatDuration(serialMs))} per request`,
  )
  c.line(
    `The original service, one Promise.all: ${EVENT_COUNT.toLocaleString('en')} upstream calls at once and a ${EVENT_COUNT.toLocaleString('en')}-event body, on every request (no page, no cache)`,
  )
  c.line()

  const page = async (label: string, offset: number) => {
    const before = mock.calls('getEventById') + mock.calls('getEventsByIds')
    const res = await send<unknown[]>(
      'GET',
      `${serviceUrl}/getEventsByUserId/${DEMO_USER_ID}?limit=${PAGE_SIZE}&offset=${offset}`,
    )
    const upstreamCalls = mock.calls('getEventById') + mock.calls('getEventsByIds') - before
    const count = Array.isArray(res.body) ? res.body.length : 0
    c.at(
      `${label.padEnd(22)} ${style.bold(formatDuration(res.ms).padStart(8))}  HTTP ${res.status}, ${count} events, X-Total-Count ${res.headers.get('x-total-count')}, ${upstreamCalls} upstream event reads`,
    )
    const link = res.headers.get('link')
    if (link !== null) c.line(`${' '.repeat(11)}${style.dim(`Link: ${link}`)}`)
    return { ms: res.ms, upstreamCalls, status: res.status }
  }

  c.resetClock()
  const p1 = await page('page 1 (cold)', 0)
  const p1again = await page('page 1 again (cache)', 0)
  const p20 = await page('page 20 (cold)', 19 * PAGE_SIZE)

  return [
    [story, 'one upstream getEventById (measured)', formatDuration(delay)],
    [
      story,
      `original, serial over ${EVENT_COUNT.toLocaleString('en')} events (computed)`,
      formatDuration(serialMs),
    ],
    [
      story,
      `page 1 (${PAGE_SIZE} events), cold`,
      `${formatDuration(p1.ms)} · ${p1.upstreamCalls} upstream reads`,
    ],
    [
      story,
      'page 1 again, from cache',
      `${formatDuration(p1again.ms)} · ${p1again.upstreamCalls} upstream reads`,
    ],
    [story, 'page 20, cold', `${formatDuration(p20.ms)} · ${p20.upstreamCalls} upstream reads`],
  ]
}
