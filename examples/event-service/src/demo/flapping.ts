import { randomUUID } from 'node:crypto'
import type { CircuitState, RampPhase } from '../metrics.js'
import { formatDuration, type Style } from './console.js'
import { forEachLimited, send, sleep } from './http.js'
import type { StoryContext, SummaryRow } from './slow-events.js'

/** The breaker numbers the demo runs with, scaled down so the story fits in under a minute. */
export const DEMO_BREAKER = { failureThreshold: 3, windowMs: 10_000, resetTimeoutMs: 1_000 }

const BURST = 15
const CALLER_CONCURRENCY = 4

/** Reads sent to the service the moment the `addEvent` circuit opens. */
const READS_WHILE_OPEN = [
  '/getUsers',
  '/getEvents',
  '/getEventsByUserId/1',
  '/getEventsByUserId/2',
  '/getEventsByUserId/3',
]

/** The upstream's read routes, whose calls the mock counts. */
const READ_ROUTES = [
  'getUsers',
  'getEvents',
  'getUserById',
  'getEventById',
  'getEventsByIds',
] as const

/** Story 2 also watches the service's upstream client. */
export interface FlappingContext extends StoryContext {
  client: {
    readonly circuitState: CircuitState
    circuitStates(): Record<string, CircuitState>
    onStateChange(
      fn: (e: { operation: string; from: CircuitState; to: CircuitState }) => void,
    ): () => void
    onRampChange(
      fn: (e: { allowedInFlight: number; queued: number; phase: RampPhase }) => void,
    ): () => void
  }
}

/**
 * Story 2: a burst of `addEvent` calls while the upstream flaps (5 succeed, then 10 answer 503).
 * The callers behave like the seeder: one `Idempotency-Key` per event, and on 503 they wait out
 * `Retry-After` and send the same request again. At the end the upstream store is checked: every
 * event present, none twice.
 */
export async function flappingStory(ctx: FlappingContext): Promise<SummaryRow[]> {
  const { c, mock, serviceUrl, client } = ctx
  const { style } = c
  const story = 'flapping upstream'
  c.heading(
    '2 · The flapping-upstream story',
    `POST /addEvent upstream: 5 succeed, then 10 answer 503 after 100 ms, and again. ${BURST} events, ${CALLER_CONCURRENCY} callers.`,
  )
  c.line(
    style.yellow(
      `Breaker scaled for the demo: opens after ${DEMO_BREAKER.failureThreshold} failures within ${DEMO_BREAKER.windowMs / 1000} s (production default 30 s), half-open probe after ${DEMO_BREAKER.resetTimeoutMs / 1000} s (default 5 s).`,
    ),
  )
  mock.setMode('flapping')
  const upstreamCalls = () => mock.calls('addEvent')
  const callsAtStart = upstreamCalls()

  const transitions = { opened: 0, halfOpened: 0, closed: 0 }
  // Callers waiting out the same Retry-After come back together; their fast 503s are printed
  // as one line per wave instead of one per caller.
  let wave: { tag: string; ms: number; retryAfter: string }[] = []
  let waveTimer: NodeJS.Timeout | undefined
  const flushWave = () => {
    clearTimeout(waveTimer)
    waveTimer = undefined
    if (wave.length === 0) return
    const slowest = Math.max(...wave.map((w) => w.ms))
    const retryAfters = [...new Set(wave.map((w) => w.retryAfter))].join('/')
    c.at(
      `${style.red('✗')} ${wave.map((w) => w.tag).join(' ')} → 503 + Retry-After: ${retryAfters} in ≤ ${formatDuration(slowest)} ${style.dim(`· upstream addEvent calls flat at ${upstreamCalls() - callsAtStart}`)}`,
    )
    wave = []
  }

  // Breakers are per operation: only `addEvent`'s opens, so reads sent while it is open must be
  // served, and reach the upstream, as usual. Checked once, at the first opening.
  const readCalls = () => READ_ROUTES.reduce((sum, route) => sum + mock.calls(route), 0)
  let readsChecked: Promise<{ ok: number; upstream: number; addEventOpen: boolean }> | undefined
  const checkReads = async () => {
    const before = readCalls()
    const answers = await Promise.all(READS_WHILE_OPEN.map((p) => send('GET', `${serviceUrl}${p}`)))
    const ok = answers.filter((a) => a.status === 200).length
    const upstream = readCalls() - before
    const states = client.circuitStates()
    const addEventOpen = states.addEvent === 'open'
    const mark = ok === answers.length ? style.green('✓') : style.red('✗')
    c.at(
      `${mark} reads while the addEvent circuit is ${states.addEvent}: ${ok}/${answers.length} answered 200 (${READS_WHILE_OPEN.join(', ')}) ${style.dim(`· upstream read calls +${upstream} · circuits ${JSON.stringify(states)}`)}`,
    )
    return { ok, upstream, addEventOpen }
  }

  c.resetClock()
  const off = client.onStateChange((e) => {
    flushWave()
    if (e.operation === 'addEvent' && e.to === 'open') readsChecked ??= checkReads()
    if (e.to === 'open') transitions.opened++
    else if (e.to === 'halfOpen') transitions.halfOpened++
    else transitions.closed++
    const label =
      e.to === 'open'
        ? style.red(`${e.operation} circuit OPEN (was ${e.from}): its callers now get 503 at once`)
        : e.to === 'halfOpen'
          ? style.yellow(`${e.operation} circuit HALF-OPEN: the next call is the probe`)
          : style.green(`${e.operation} circuit CLOSED: the probe succeeded`)
    c.at(
      `${label} ${style.dim(`· upstream addEvent calls so far: ${upstreamCalls() - callsAtStart}`)}`,
    )
  })
  // The gradual recovery, as the client reports it: the circuit already reads CLOSED, but only
  // `allowedInFlight` upstream calls may run at once; the rest wait in the client's ramp queue.
  const ramp = { started: 0, widened: 0, finished: 0, aborted: 0, widest: 0 }
  const offRamp = client.onRampChange((e) => {
    flushWave()
    ramp[e.phase]++
    if (Number.isFinite(e.allowedInFlight)) ramp.widest = Math.max(ramp.widest, e.allowedInFlight)
    c.at(rampLine(e, style))
  })

  const runId = randomUUID().slice(0, 8)
  const wanted = Array.from({ length: BURST }, (_, i) => String(i + 1).padStart(2, '0'))
  const nameOf = (n: string) => `burst-${runId}-${n}`
  let fastFails = 0
  const fastFailMs: number[] = []
  let attemptsTotal = 0
  const started = performance.now()

  await forEachLimited(wanted, CALLER_CONCURRENCY, async (n) => {
    const tag = `#${n}`
    for (let attempt = 1; ; attempt++) {
      attemptsTotal++
      const before = upstreamCalls()
      const res = await send<{ retryAfterSeconds?: number }>(
        'POST',
        `${serviceUrl}/addEvent`,
        { name: nameOf(n), userId: '2', details: 'added during the flapping story' },
        // One key per event: a retry of the same event maps to the same upstream id.
        { 'idempotency-key': `demo-${runId}-${n}` },
      )
      const wentUpstream = upstreamCalls() !== before
      // What the service said, printed as received; the wait falls back to 1 s without it.
      const retryAfterHeader = res.headers.get('retry-after') ?? 'none'
      const retryAfter = Number(res.headers.get('retry-after') ?? '1')
      if (res.status === 201) {
        flushWave()
        c.at(
          `${style.green('✓')} ${tag} 201 Created in ${formatDuration(res.ms)} ${style.dim(`(attempt ${attempt})`)}`,
        )
        return
      }
      if (res.status === 503 && !wentUpstream) {
        fastFails++
        fastFailMs.push(res.ms)
        wave.push({ tag, ms: res.ms, retryAfter: retryAfterHeader })
        waveTimer ??= setTimeout(flushWave, 40)
      } else {
        flushWave()
        c.at(
          `${style.red('✗')} ${tag} ${res.status} in ${formatDuration(res.ms)}, Retry-After: ${retryAfterHeader} ${style.dim('· went upstream: the event API is still failing')}`,
        )
      }
      await sleep(Math.max(1, retryAfter) * 1000)
    }
  })
  flushWave()
  off()
  offRamp()
  const burstMs = performance.now() - started
  const reads = await readsChecked

  // Exactly once, checked where it matters: in the upstream's own store.
  const stored = mock.store.listEvents().filter((e) => e.name.startsWith(`burst-${runId}-`))
  const wantedNames = wanted.map(nameOf)
  const perName = new Map<string, number>()
  for (const e of stored) perName.set(e.name, (perName.get(e.name) ?? 0) + 1)
  const missing = wantedNames.filter((n) => !perName.has(n))
  const duplicates = [...perName.values()].filter((n) => n > 1).length
  c.line()
  const verdict =
    missing.length === 0 && duplicates === 0
      ? style.green(`all ${BURST} events added exactly once`)
      : style.red(`${missing.length} missing, ${duplicates} duplicated`)
  c.line(
    `Upstream store check: ${stored.length} burst events stored for ${BURST} wanted → ${verdict}`,
  )
  fastFailMs.sort((a, b) => a - b)
  const median = fastFailMs[Math.floor(fastFailMs.length / 2)] ?? 0
  return [
    [story, 'events added / wanted', `${perName.size} / ${BURST} in ${formatDuration(burstMs)}`],
    [story, 'duplicates in the upstream store', String(duplicates)],
    [
      story,
      'caller requests / upstream addEvent calls',
      `${attemptsTotal} / ${upstreamCalls() - callsAtStart}`,
    ],
    [
      story,
      'fast 503 + Retry-After while open (no upstream call)',
      `${fastFails}, median ${formatDuration(median)}`,
    ],
    [
      story,
      'reads answered 200 while addEvent was open',
      reads === undefined
        ? 'not checked (the circuit never opened)'
        : `${reads.ok} / ${READS_WHILE_OPEN.length}, ${reads.upstream} upstream read calls${reads.addEventOpen ? '' : ' (circuit had moved on)'}`,
    ],
    [
      story,
      'circuit opened / half-opened / closed',
      `${transitions.opened} / ${transitions.halfOpened} / ${transitions.closed}`,
    ],
    [
      story,
      'ramp started / widened / finished / aborted',
      `${ramp.started} / ${ramp.widened} / ${ramp.finished} / ${ramp.aborted}, widest ${ramp.widest} in flight`,
    ],
  ]
}

/** Private: one console line per ramp event, in the words of the story. */
function rampLine(
  e: { allowedInFlight: number; queued: number; phase: RampPhase },
  style: Style,
): string {
  switch (e.phase) {
    case 'started':
      return style.yellow(
        `ramp started: ${e.allowedInFlight} calls allowed in flight, doubling with each success`,
      )
    case 'widened':
      return `${style.yellow(`ramp: ${e.allowedInFlight} calls allowed in flight`)} ${style.dim(`(${e.queued} queued)`)}`
    case 'finished':
      return `${style.green('ramp finished: traffic unrestricted')} ${style.dim(`(${e.queued} queued calls released)`)}`
    case 'aborted':
      return `${style.red('ramp aborted: a failure re-opened the circuit')} ${style.dim(`(${e.queued} queued calls rejected)`)}`
  }
}
