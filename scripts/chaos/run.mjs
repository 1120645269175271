#!/usr/bin/env node
import { existsSync } from 'node:fs'
/**
 * `pnpm test:chaos`: the example service under fire, as a black box over HTTP. It runs the built
 * service (`examples/event-service/dist/main.js`, what `pnpm start` runs) against the mock
 * upstream's CLI in its own process, and checks:
 *
 * 1. a seeded corpus of bad requests (HTTP and raw bytes over `node:net`) → 100 % 4xx, 0 × 5xx,
 *    0 hangs; every HTTP answer has `x-request-id` and the service's error body; raw malformed HTTP
 *    gets a 4xx status line or a closed socket within 1 s; the service is healthy afterwards;
 * 2. a soak through the flapping upstream (breaker reset 25 ms, mock without delays, a short
 *    outage in the middle): 1,000 writes with idempotency keys, some sent twice → 0 duplicates,
 *    0 lost; no 5xx other than 502/503/504, every 503 with `Retry-After`; no body (`/metrics`
 *    included) names the upstream's address, a command line, a file path, the host name or a
 *    stack frame; `heapUsed` after a forced GC grows < 10 MB from the first to the last
 *    minute; log volume per fast 503;
 * 3. shutdown under the real `npx -y pnpm@10 start` wrapper: SIGINT, then SIGTERM, to the process
 *    group with requests in flight → 0 dropped.
 *
 * Prints its figures; exits 1 listing every failed check. Bounded: a watchdog fails the run
 * after 4 minutes. Needs a build first (`pnpm build`). Knobs: CHAOS_SEED, CHAOS_SOAK_MS,
 * CHAOS_WRITES, CHAOS_PHASES.
 */
import http from 'node:http'
import { homedir, hostname } from 'node:os'
import { fileURLToPath } from 'node:url'
import { buildCorpus, prng } from './corpus.mjs'
import { freePort, mean, pool, quantile, send, sendRaw, sleep, startProcess } from './lib.mjs'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const SERVICE_DIR = `${ROOT}examples/event-service`
const MAIN = `${SERVICE_DIR}/dist/main.js`
const MOCK_BIN = `${ROOT}packages/mock-server/bin/userevents-mock.js`
const HEAP_PROBE = fileURLToPath(new URL('./heap-probe.mjs', import.meta.url))
const SEED = Number(process.env.CHAOS_SEED ?? 20_261_130)
const SOAK_MS = Number(process.env.CHAOS_SOAK_MS ?? 120_000)
const WRITES = Number(process.env.CHAOS_WRITES ?? 1_000)
const LIMIT_MS = 4 * 60_000
const BODY_LIMIT = 16_384
/** CHAOS_PHASES=corpus,soak,shutdown (the default: all) runs a subset while iterating. */
const PHASES = new Set((process.env.CHAOS_PHASES ?? 'corpus,soak,shutdown').split(','))

const failures = []
/** Answer bodies run through the "no internals" check, and how many of them were `/metrics`. */
const bodiesChecked = { all: 0, metrics: 0 }

/**
 * Private: what no answer body may contain, whatever the route: the process's command line and
 * the files it runs (the repository root covers main.js, the heap probe preloaded by `--import`
 * and every source path of a stack trace), Node's own path, the home folder and the host name, the
 * OpenTelemetry resource attributes that carry them, and stack frames. Absolute paths under the
 * usual roots are matched too, for paths this process does not know of.
 */
const INTERNAL_STRINGS = [
  ['the repository path', ROOT.replace(/\/$/, '')],
  ['the node executable path', process.execPath],
  ['the home folder', homedir()],
  ['the host name', hostname().length >= 4 && hostname() !== 'localhost' ? hostname() : undefined],
  ['the --expose-gc flag of the command line', '--expose-gc'],
].filter(([, value]) => typeof value === 'string' && value.length > 1)
const INTERNAL_PATTERNS = [
  ['a process resource attribute', /process[._](command|executable|owner|pid)/],
  ['a host resource attribute', /\bhost[._](name|id|arch)\b/],
  ['a file URL', /file:\/\//],
  ['a node_modules path', /node_modules[\\/]/],
  ['a stack frame', /\bat [^\n]*\(?(node:|\/)[^\n]*:\d+:\d+\)?/],
  [
    'an absolute file path',
    /(^|[\s"'=(,:])\/(home|root|usr|opt|var|etc|tmp|proc|srv|work|Users|nix|run|mnt)\/[\w.@+-]+/m,
  ],
]
const figures = []
const check = (ok, what) => {
  if (!ok) failures.push(what)
  return ok
}
const figure = (name, value) => {
  figures.push([name, value])
  console.log(`  ${name}: ${value}`)
}
const children = new Set()
const t0 = performance.now()

const watchdog = setTimeout(() => {
  console.error(`chaos: over the ${LIMIT_MS / 60_000}-minute bound; stopping`)
  for (const c of children) killTree(c)
  process.exit(1)
}, LIMIT_MS)
watchdog.unref()

if (!existsSync(MAIN) || !existsSync(`${ROOT}packages/mock-server/dist/cli/mock.js`)) {
  console.error('chaos: build first (npx -y pnpm@10 build): dist/ is missing')
  process.exit(1)
}

try {
  await main()
} catch (error) {
  failures.push(`crashed: ${error?.stack ?? error}`)
} finally {
  for (const c of children) killTree(c)
}
report()

async function main() {
  console.log(`chaos: seed ${SEED}, soak ${SOAK_MS / 1000} s, ${WRITES} writes`)
  const mock = startProcess(
    process.execPath,
    [MOCK_BIN, '--port', '0', '--mode', 'healthy', '--no-delays'],
    {
      ready: (line) => (line.startsWith('http') ? line.trim() : undefined),
    },
  )
  children.add(mock.child)
  const mockUrl = await mock.started
  const mockAddress = new URL(mockUrl).host
  const service = await startService(mockUrl)
  const agent = new http.Agent({ keepAlive: true, maxSockets: 32 })

  if (PHASES.has('corpus')) await corpusPhase(service, agent, mockAddress)
  if (PHASES.has('soak')) await soakPhase(service, agent, mockUrl, mockAddress)

  service.child.kill('SIGTERM')
  const { code } = await service.exited
  check(code === 0, `service exited ${code} on SIGTERM after the soak, expected 0`)
  children.delete(service.child)
  agent.destroy()
  mock.child.kill('SIGTERM')
  await mock.exited
  children.delete(mock.child)

  if (PHASES.has('shutdown')) {
    // The root's `pnpm start` (build, then the example's own `pnpm start`: two pnpm processes and
    // their shells between npx and node) is what the issue's users ran; the example's is one level.
    await shutdownPhase('SIGINT', ROOT)
    await shutdownPhase('SIGTERM', SERVICE_DIR)
  }
}

/** The built service, with the heap probe preloaded and the breaker scaled to milliseconds. */
async function startService(mockUrl) {
  const proc = startProcess(process.execPath, ['--expose-gc', '--import', HEAP_PROBE, MAIN], {
    cwd: SERVICE_DIR,
    env: {
      PORT: '0',
      UPSTREAM_BASE: mockUrl,
      BREAKER_RESET_TIMEOUT_MS: '25',
      BODY_LIMIT_BYTES: String(BODY_LIMIT),
      LOG_LEVEL: process.env.CHAOS_LOG_LEVEL ?? '',
    },
    ready: (line) => {
      if (!line.includes('listening on')) return undefined
      return JSON.parse(line).url
    },
  })
  children.add(proc.child)
  const logs = { lines: 0, bytes: 0, byLevel: {}, withStack: 0, stackBytes: 0, loudByMsg: {} }
  proc.out.onStdoutLine = (line) => {
    logs.lines++
    logs.bytes += line.length + 1
    let entry
    try {
      entry = JSON.parse(line)
    } catch {
      return
    }
    logs.byLevel[entry.level] = (logs.byLevel[entry.level] ?? 0) + 1
    if (entry.level >= 40) logs.loudByMsg[entry.msg] = (logs.loudByMsg[entry.msg] ?? 0) + 1
    if (entry.err?.stack !== undefined) {
      logs.withStack++
      logs.stackBytes += line.length + 1
    }
  }
  const heap = []
  let onHeap
  proc.out.onStderrLine = (line) => {
    if (!line.startsWith('{"chaosHeapUsed"')) return
    heap.push(JSON.parse(line).chaosHeapUsed)
    onHeap?.()
  }
  const url = await proc.started
  const port = Number(new URL(url).port)
  const sampleHeap = () =>
    new Promise((resolve) => {
      const before = heap.length
      onHeap = () => {
        if (heap.length > before) resolve(heap[heap.length - 1])
      }
      proc.child.kill('SIGUSR2')
    })
  return { ...proc, url, port, logs, sampleHeap }
}

/** Checks one HTTP answer of the service (to a request for `path`): returns the problems found. */
function answerProblems(res, mockAddress, { expect4xx }, path = '') {
  const problems = []
  if (res.hang) return ['no answer within 5 s (hang)']
  if (res.error !== undefined) return [`connection error ${res.error}`]
  if (expect4xx && !(res.status >= 400 && res.status < 500))
    problems.push(`status ${res.status}, expected 4xx`)
  if (!expect4xx && res.status >= 500 && ![502, 503, 504].includes(res.status))
    problems.push(`status ${res.status}`)
  if (typeof res.headers['x-request-id'] !== 'string') problems.push('no x-request-id')
  if (res.body.includes(mockAddress))
    problems.push(`body names the upstream address: ${res.body.slice(0, 200)}`)
  const internal = internalsIn(res.body, path)
  if (internal !== undefined) problems.push(`body reveals ${internal}`)
  bodiesChecked.all++
  if (path.startsWith('/metrics')) bodiesChecked.metrics++
  if (res.status >= 400) {
    let body
    try {
      body = JSON.parse(res.body)
    } catch {
      body = undefined
    }
    if (
      typeof body?.error !== 'string' ||
      typeof body?.message !== 'string' ||
      'statusCode' in body
    ) {
      problems.push(`not the service's error shape: ${res.body.slice(0, 160)}`)
    }
    if (res.status === 503 && res.headers['retry-after'] === undefined)
      problems.push('503 without Retry-After')
  }
  return problems
}

async function corpusPhase(service, agent, mockAddress) {
  console.log('\n1. corpus of bad requests')
  const { http: requests, raw } = buildCorpus(SEED, { bodyLimitBytes: BODY_LIMIT })
  const started = performance.now()
  const byStatus = {}
  const bad = []
  const httpResults = await pool(requests, 16, async (r) => {
    const res = await send(agent, service.url, r)
    byStatus[res.status ?? (res.hang ? 'hang' : 'error')] =
      (byStatus[res.status ?? (res.hang ? 'hang' : 'error')] ?? 0) + 1
    const problems = answerProblems(res, mockAddress, { expect4xx: true }, r.path)
    if (problems.length > 0)
      bad.push(`${r.label} ${r.method} ${r.path.slice(0, 80)}: ${problems.join('; ')}`)
    return res
  })
  const rawByOutcome = {}
  const rawResults = await pool(raw, 16, async (r) => {
    const res = await sendRaw(service.port, r.bytes, 1_000)
    const outcome = res.hang ? 'hang' : res.closed ? 'closed' : (res.status ?? 'bad answer')
    rawByOutcome[outcome] = (rawByOutcome[outcome] ?? 0) + 1
    if (res.hang) bad.push(`${r.label}: neither a status line nor a close within 1 s`)
    else if (res.status !== undefined && !(res.status >= 400 && res.status < 500)) {
      bad.push(`${r.label}: answered ${res.line}`)
    } else if (res.badAnswer)
      bad.push(`${r.label}: not an HTTP status line: ${JSON.stringify(res.line)}`)
    return res
  })
  const total = httpResults.length + rawResults.length
  figure(
    'bad requests',
    `${total} (${httpResults.length} HTTP, ${rawResults.length} raw) in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  )
  figure('HTTP answers by status', JSON.stringify(byStatus))
  figure('raw answers', JSON.stringify(rawByOutcome))
  const fivexx = httpResults.filter((r) => r.status >= 500).length
  figure('5xx', fivexx)
  figure(
    'p99 answer to a bad HTTP request',
    `${quantile(
      httpResults.filter((r) => r.status).map((r) => r.ms),
      0.99,
    ).toFixed(1)} ms`,
  )
  check(total >= 500, `corpus has ${total} requests, expected >= 500`)
  for (const b of bad.slice(0, 40)) failures.push(`corpus: ${b}`)
  if (bad.length > 40) failures.push(`corpus: ... and ${bad.length - 40} more`)
  figure('corpus requests breaking a rule', bad.length)

  const health = await send(agent, service.url, { path: '/healthz' })
  const page = await send(agent, service.url, { path: '/getEventsByUserId/1' })
  // The scrape is a body like any other: the SDK's resource (`target_info`) would put the command
  // line, executable path, owner and host name there.
  const scrape = await send(agent, service.url, { path: '/metrics' })
  const scrapeProblems = answerProblems(scrape, mockAddress, { expect4xx: false }, '/metrics')
  check(scrape.status === 200, `/metrics answered ${scrape.status}`)
  for (const p of scrapeProblems) failures.push(`corpus: /metrics: ${p}`)
  figure(
    '/metrics after the corpus',
    scrapeProblems.length === 0 ? 'reveals nothing' : scrapeProblems.join('; '),
  )
  check(
    health.status === 200 && page.status === 200,
    `service unhealthy after the corpus: /healthz ${health.status}, page ${page.status}`,
  )
  figure('healthy after the corpus', health.status === 200 && page.status === 200 ? 'yes' : 'no')
}

async function soakPhase(service, agent, mockUrl, mockAddress) {
  console.log(`\n2. soak through the flapping upstream (${SOAK_MS / 1000} s, ${WRITES} writes)`)
  const admin = (path, body) =>
    fetch(`${mockUrl}${path}`, {
      method: body ? 'POST' : 'GET',
      body: body ? JSON.stringify(body) : undefined,
    }).then((r) => r.json())
  await admin('/__admin/mode', { mode: 'flapping' })
  const rnd = prng(SEED + 1)
  const started = performance.now()
  const elapsed = () => performance.now() - started
  const logsBefore = { ...service.logs, byLevel: { ...service.logs.byLevel } }
  let writesDone = false

  // Heap after a forced GC, every 10 s.
  const heap = []
  const heapLoop = (async () => {
    while (!(writesDone && elapsed() >= SOAK_MS)) {
      await sleep(10_000 - (elapsed() % 10_000))
      heap.push({ at: elapsed(), bytes: await service.sampleHeap() })
    }
  })()

  // A short outage of every upstream route in the middle, to exercise reads with an open circuit.
  const outage = (async () => {
    await sleep(Math.min(30_000, SOAK_MS / 4))
    await admin('/__admin/mode', { mode: 'down' })
    await sleep(3_000)
    await admin('/__admin/mode', { mode: 'flapping' })
  })()

  const stats = { writeRequests: 0, fast503: 0, by: {}, problems: [], retryAfterMissing: 0 }
  const record = (res, label, path) => {
    const k = res.status ?? (res.hang ? 'hang' : 'error')
    stats.by[k] = (stats.by[k] ?? 0) + 1
    const problems = answerProblems(res, mockAddress, { expect4xx: false }, path)
    if (problems.length > 0 && stats.problems.length < 40)
      stats.problems.push(`${label}: ${problems.join('; ')}`)
    if (res.status === 503 && res.ms < 20) stats.fast503++
  }

  // Writers: each write is retried on 5xx/connection errors with its key until it is acknowledged.
  const acknowledged = new Map()
  const writeFailures = []
  const resend = new Set()
  const writes = Array.from({ length: WRITES }, (_, i) => i)
  for (const i of writes) if (rnd() < 0.1) resend.add(i)
  const writeOne = async (i) => {
    const body = Buffer.from(
      JSON.stringify({
        name: `chaos-write-${SEED}-${i}`,
        userId: String(1 + (i % 3)),
        details: `write ${i}`,
      }),
    )
    const req = {
      method: 'POST',
      path: '/addEvent',
      headers: { 'content-type': 'application/json', 'idempotency-key': `chaos-${SEED}-${i}` },
      body,
    }
    const sendUntilAcknowledged = async () => {
      for (;;) {
        if (elapsed() > LIMIT_MS) throw new Error('write never acknowledged')
        stats.writeRequests++
        const res = await send(agent, service.url, req)
        record(res, `write ${i}`, req.path)
        if (res.status === 201) return JSON.parse(res.body).id
        if (res.status >= 500 || res.error !== undefined || res.hang) {
          await sleep(20 + rnd() * 40)
          continue
        }
        writeFailures.push(`write ${i}: ${res.status} ${res.body?.slice(0, 120)}`)
        return undefined
      }
    }
    const id = await sendUntilAcknowledged()
    if (id === undefined) return
    acknowledged.set(i, id)
    // As if the 201 had been lost: the caller sends the same write again.
    if (resend.has(i)) {
      const again = await sendUntilAcknowledged()
      if (again !== id) writeFailures.push(`write ${i}: resent, got event ${again}, first ${id}`)
    }
  }
  let writesMs = 0
  const writers = pool(writes, 16, writeOne).then(() => {
    writesDone = true
    writesMs = elapsed()
  })

  // Readers: pages, lists, health, and a trickle of bad requests, until the soak ends.
  // Only requests refused before any upstream call: an unknown user needs a lookup, which may
  // rightly answer 503 while the upstream is out.
  const badOnes = buildCorpus(SEED + 2, { bodyLimitBytes: BODY_LIMIT, httpCount: 200 }).http.filter(
    (r) => !r.label.includes('unknown user'),
  )
  const reads = [
    () => ({
      path: `/getEventsByUserId/${1 + Math.floor(rnd() * 3)}?limit=${1 + Math.floor(rnd() * 50)}`,
    }),
    () => ({
      path: `/users/${1 + Math.floor(rnd() * 3)}/events?offset=${Math.floor(rnd() * 10)}&fields=name,userId`,
    }),
    () => ({ path: '/getUsers' }),
    () => ({ path: '/getEvents' }),
    () => ({ path: '/readyz' }),
    () => ({ path: '/metrics' }),
  ]
  let readCount = 0
  let badCount = 0
  let missingSeen = 0
  const reader = async () => {
    while (!(writesDone && elapsed() >= SOAK_MS)) {
      if (rnd() < 0.15) {
        const r = badOnes[Math.floor(rnd() * badOnes.length)]
        const res = await send(agent, service.url, r)
        badCount++
        const problems = answerProblems(res, mockAddress, { expect4xx: true }, r.path)
        if (problems.length > 0 && stats.problems.length < 40)
          stats.problems.push(`bad ${r.label}: ${problems.join('; ')}`)
        continue
      }
      const r = reads[Math.floor(rnd() * reads.length)]()
      const res = await send(agent, service.url, r)
      readCount++
      record(res, `GET ${r.path}`, r.path)
      if (res.status === 200 && r.path.startsWith('/users/'))
        missingSeen += JSON.parse(res.body).missing.length
      await sleep(rnd() * 5)
    }
  }
  await Promise.all([writers, heapLoop, outage, ...Array.from({ length: 4 }, reader)])
  const soakMs = elapsed()

  // The upstream's own store is the truth: every write exactly once.
  await admin('/__admin/mode', { mode: 'healthy' })
  const stored = await fetch(`${mockUrl}/getEvents`).then((r) => r.json())
  const counts = new Map()
  for (const e of stored) {
    const m = /^chaos-write-(\d+)-(\d+)$/.exec(e.name)
    if (m && Number(m[1]) === SEED) counts.set(Number(m[2]), (counts.get(Number(m[2])) ?? 0) + 1)
  }
  const duplicates = [...counts.values()].filter((n) => n > 1).length
  const lost = writes.filter((i) => !counts.has(i)).length
  figure(
    'soak',
    `${(soakMs / 1000).toFixed(1)} s; ${stats.writeRequests} write requests, ${readCount} reads, ${badCount} bad requests`,
  )
  figure(
    'writes acknowledged / stored once / duplicates / lost',
    `${acknowledged.size} / ${[...counts.values()].filter((n) => n === 1).length} / ${duplicates} / ${lost}`,
  )
  figure('writes sent again after their 201', resend.size)
  figure('time until every write was acknowledged', `${(writesMs / 1000).toFixed(1)} s`)
  figure('answers by status', JSON.stringify(stats.by))
  figure('fast 503s (< 20 ms)', stats.fast503)
  figure('missing[] entries seen in page bodies', missingSeen)
  check(acknowledged.size === WRITES, `${WRITES - acknowledged.size} writes never acknowledged`)
  check(duplicates === 0, `${duplicates} writes stored more than once`)
  check(lost === 0, `${lost} writes lost`)
  for (const f of writeFailures.slice(0, 20)) failures.push(`soak: ${f}`)
  for (const p of stats.problems) failures.push(`soak: ${p}`)

  const firstMinute = heap.filter((h) => h.at < 60_000).map((h) => h.bytes)
  const lastMinute = heap.filter((h) => h.at >= soakMs - 60_000).map((h) => h.bytes)
  const growth = mean(lastMinute) - mean(firstMinute)
  figure(
    'heapUsed after forced GC (MB, every 10 s)',
    heap.map((h) => (h.bytes / 1e6).toFixed(1)).join(' '),
  )
  figure('heap growth, last minute vs first minute (mean)', `${(growth / 1e6).toFixed(2)} MB`)
  check(
    heap.length >= 2 && growth < 10e6,
    `heap grew ${(growth / 1e6).toFixed(1)} MB (limit 10 MB)`,
  )

  const logLines = service.logs.lines - logsBefore.lines
  const logBytes = service.logs.bytes - logsBefore.bytes
  const warn = (service.logs.byLevel[40] ?? 0) - (logsBefore.byLevel[40] ?? 0)
  const stacks = service.logs.withStack - logsBefore.withStack
  figure(
    'service log during the soak',
    `${logLines} lines, ${(logBytes / 1e6).toFixed(2)} MB, ${warn} warn, ${stacks} with a stack trace`,
  )
  const n503 = stats.by[503] ?? 0
  if (n503 > 0) figure('warn/error lines per 503 answered', (warn / n503).toFixed(3))
  figure(
    'warn/error lines by message (whole run)',
    JSON.stringify(
      Object.fromEntries(
        Object.entries(service.logs.loudByMsg)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 6),
      ),
    ),
  )
  // An outage's expected rejections are counted, not logged one by one with a stack.
  check(stacks === 0, `${stacks} log lines with a stack trace during the soak`)
}

/** `npx -y pnpm@10 start` in the example, requests in flight, one signal to the process group. */
async function shutdownPhase(signal, where) {
  console.log(
    `\n3. shutdown under \`npx -y pnpm@10 start\` (${where === ROOT ? 'repository root, with its build' : 'examples/event-service'}): ${signal} to the process group`,
  )
  const port = await freePort()
  let upstream
  const proc = startProcess('npx', ['-y', 'pnpm@10', 'start'], {
    cwd: where,
    env: { PORT: String(port), LOG_LEVEL: 'info', UPSTREAM_BASE: '' },
    detached: true,
    timeoutMs: 150_000,
    ready: (line) => {
      if (line.includes('started the embedded mock')) upstream = JSON.parse(line).upstream
      return line.includes('listening on') ? JSON.parse(line).url : undefined
    },
  })
  children.add(proc.child)
  const url = await proc.started
  const logLines = []
  proc.out.onStdoutLine = (line) => logLines.push(line)
  const agent = new http.Agent({ keepAlive: true })
  // Page loads wait on the embedded mock's 500 ms event reads, so they are in flight for a while.
  const paths = [
    '/getEventsByUserId/1',
    '/getEventsByUserId/2',
    '/getEventsByUserId/3',
    '/users/1/events?fields=name',
    '/users/2/events',
    '/users/3/events?limit=1',
    '/getEventsByUserId/1?limit=1',
    '/getEventsByUserId/2?fields=name',
  ]
  const inFlight = paths.map((path) => send(agent, url, { path }, 15_000))
  for (let i = 0; i < 200; i++) {
    const calls = await fetch(`${upstream}/__admin/calls`).then((r) => r.json())
    if (calls.inFlight.getEventById > 0) break
    await sleep(5)
  }
  process.kill(-proc.child.pid, signal)
  // The same signal again 40 ms later, as a wrapper relaying it would (the issue measured the
  // service receiving it twice, 30–65 ms apart, behind npx/pnpm/tsx): an echo must not force the exit.
  await sleep(40)
  process.kill(-proc.child.pid, signal)
  const results = await Promise.all(inFlight)
  const completed = results.filter((r) => r.status === 200).length
  const dropped = results.length - completed
  let stopped = false
  for (let i = 0; i < 150 && !stopped; i++) {
    const res = await send(agent, url, { path: '/healthz' }, 500)
    stopped = res.error !== undefined
    if (!stopped) await sleep(100)
  }
  // Every process of the tree holds the stdout pipe; it closes once the service itself is gone.
  await Promise.race([proc.closed, sleep(15_000)])
  agent.destroy()
  const echoes = logLines.filter((l) => l.includes('signal repeated during shutdown')).length
  figure(
    `${signal}: requests in flight / completed 200 / dropped`,
    `${results.length} / ${completed} / ${dropped}`,
  )
  figure(`${signal}: repeated signals ignored by the service`, echoes)
  check(echoes >= 1, `${signal}: the service did not log the repeated signal as ignored`)
  check(
    dropped === 0,
    `${signal} to the group under pnpm start dropped ${dropped} of ${results.length}: ${JSON.stringify(results.filter((r) => r.status !== 200).map((r) => r.error ?? r.status))}`,
  )
  check(stopped, `${signal}: the service still answers after the drain`)
  check(
    logLines.some((l) => l.includes('shutdown complete')),
    `${signal}: no "shutdown complete" line`,
  )
  children.delete(proc.child)
  killTree(proc.child)
}

function killTree(child) {
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    try {
      child.kill('SIGKILL')
    } catch {}
  }
}

function report() {
  const seconds = ((performance.now() - t0) / 1000).toFixed(1)
  console.log(
    `\nchaos: "no internals" checked ${bodiesChecked.all} answer bodies, ${bodiesChecked.metrics} of them /metrics`,
  )
  console.log(`chaos: ${seconds} s, seed ${SEED}`)
  if (failures.length === 0) {
    console.log('chaos: every check passed')
    process.exit(0)
  }
  console.log(`chaos: ${failures.length} failed check(s):`)
  for (const f of failures) console.log(`  - ${f}`)
  process.exit(1)
}

/**
 * Private: the first internal detail `body` reveals, or `undefined`. The request's own path is
 * taken out first: a 404 names the route it did not find, and the corpus asks for `/etc/passwd`.
 */
function internalsIn(body, path) {
  let text = body
  if (path !== '') {
    for (const echo of new Set([path, path.split('?')[0], JSON.stringify(path).slice(1, -1)])) {
      if (echo !== '') text = text.split(echo).join('')
    }
  }
  for (const [what, value] of INTERNAL_STRINGS) if (text.includes(value)) return what
  for (const [what, pattern] of INTERNAL_PATTERNS) {
    const match = pattern.exec(text)
    if (match !== null)
      return `${what}: ${JSON.stringify(text.slice(Math.max(0, match.index - 40), match.index + 80))}`
  }
  return undefined
}
