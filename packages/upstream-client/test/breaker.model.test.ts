import type http from 'node:http'
import fc from 'fast-check'
import { Pool } from 'undici'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import {
  type CircuitState,
  type Clock,
  createUpstreamClient,
  isUpstreamErrorCode,
  type UpstreamClient,
} from '../src/index.js'
import { json, startServer, type TestServer } from './helpers.js'

/**
 * Model-based test of the per-operation circuit breakers: fast-check generates sequences of calls
 * to two operations (each one
 * answered later, by the test, with a success, a failure or a non-failure 404), answers in any
 * order (so calls overlap), and time advances; each step runs against a real client and a real
 * loopback server, and against the small reference model below, written from the README's rule,
 * applied to each operation on its own (a call of one operation never moves another's breaker):
 *
 * - closed: an attempt goes out; a failure is recorded when it settles, and the circuit opens when
 *   the last `failureThreshold` failures all fall within `windowMs` (successes dilute nothing);
 *   the record is cleared when the circuit closes;
 * - open: calls fail fast (`UPSTREAM_CIRCUIT_OPEN`, no request) until `resetTimeoutMs` has passed;
 * - half-open: the first call is the single probe, others fail fast while it is in flight; its
 *   success (or any answer that is not a failure) closes the circuit, its failure re-opens it;
 * - ramp: after the probe, calls in flight are limited to 2, doubling with every success until
 *   `rampLimit`; excess calls queue (at most `maxQueued`, more fail fast); a failure re-opens
 *   the circuit and fails the queue.
 *
 * Checked after every step: the circuit state, which calls reached the server, which failed fast,
 * and the outcome of every settled call. Fake timers drive opossum's half-open timer (the global
 * `setTimeout`) and the client's injected clock reads the same faked `Date.now()`, so both see
 * one time. Fixed seed; on a divergence fast-check prints the shrunk command sequence.
 */

const BREAKER = {
  failureThreshold: 2,
  windowMs: 1_000,
  resetTimeoutMs: 500,
  rampLimit: 8,
  maxQueued: 1,
} as const

type Outcome = 'ok' | 'fail' | 'notFound'

/** How often the runs reached each part of the rule (printed, and asserted to be non-zero). */
const coverage = {
  opened: 0,
  closedByProbe: 0,
  queued: 0,
  queueFull: 0,
  reopenedInRamp: 0,
  rampFinished: 0,
}
type Settled = 'ok' | 'fail' | 'notFound' | 'fastOpen'

/** The reference model of one breaker. */
class BreakerModel {
  state: CircuitState = 'closed'
  failures: number[] = []
  openedAt = 0
  probe: number | undefined
  ramp: { allowance: number; inFlight: Set<number>; queue: number[] } | undefined
  /** Calls sent in plain closed state, whose late failures still count. */
  plain = new Set<number>()
}

/** The operations the calls are spread over; each has its own breaker (issue 9). */
type Op = 'getA' | 'getB'

/** The model of the whole system: one breaker per operation, calls, and the time. */
class Model {
  now = 0
  breakers = new Map<Op, BreakerModel>()
  ops = new Map<number, Op>()
  outcomes = new Map<number, Outcome>()
  /** Calls the server holds, in the order they were sent. */
  sent: number[] = []
  settled = new Map<number, Settled>()
  nextId = 1

  /** The breaker of `op`, created on its first call as the client creates it. */
  breaker(op: Op): BreakerModel {
    let b = this.breakers.get(op)
    if (b === undefined) {
      b = new BreakerModel()
      this.breakers.set(op, b)
    }
    return b
  }

  advance(ms: number): void {
    this.now += ms
    for (const b of this.breakers.values()) {
      if (b.state === 'open' && this.now >= b.openedAt + BREAKER.resetTimeoutMs) {
        b.state = 'halfOpen'
        b.probe = undefined
      }
    }
  }

  start(op: Op, outcome: Outcome): number {
    const id = this.nextId++
    this.outcomes.set(id, outcome)
    this.ops.set(id, op)
    const b = this.breaker(op)
    if (b.state === 'open' || (b.state === 'halfOpen' && b.probe !== undefined)) {
      this.settled.set(id, 'fastOpen')
    } else if (b.state === 'halfOpen') {
      b.probe = id
      this.sent.push(id)
    } else if (b.ramp === undefined) {
      b.plain.add(id)
      this.sent.push(id)
    } else if (b.ramp.inFlight.size < b.ramp.allowance) {
      b.ramp.inFlight.add(id)
      this.sent.push(id)
    } else if (b.ramp.queue.length < BREAKER.maxQueued) {
      b.ramp.queue.push(id)
      coverage.queued++
    } else {
      this.settled.set(id, 'fastOpen')
      coverage.queueFull++
    }
    return id
  }

  /** The server answers call `id`. */
  answer(id: number): void {
    const outcome = this.outcomes.get(id) as Outcome
    this.sent.splice(this.sent.indexOf(id), 1)
    this.settled.set(id, outcome)
    const b = this.breaker(this.ops.get(id) as Op)
    const failure = outcome === 'fail'
    if (b.probe === id) {
      b.probe = undefined
      if (failure) this.open(b)
      else this.close(b)
      return
    }
    if (b.plain.delete(id)) {
      if (failure) this.recordFailure(b)
      return
    }
    const ramp = b.ramp
    // A call admitted by an earlier ramp: only that ramp could act on it, and it is gone.
    if (ramp === undefined || !ramp.inFlight.has(id)) return
    ramp.inFlight.delete(id)
    if (failure) {
      this.open(b)
      return
    }
    ramp.allowance *= 2
    if (ramp.allowance >= BREAKER.rampLimit) {
      coverage.rampFinished++
      b.ramp = undefined
      for (const queued of ramp.queue.splice(0)) {
        b.plain.add(queued)
        this.sent.push(queued)
      }
      return
    }
    while (ramp.inFlight.size < ramp.allowance && ramp.queue.length > 0) {
      const queued = ramp.queue.shift() as number
      ramp.inFlight.add(queued)
      this.sent.push(queued)
    }
  }

  private recordFailure(b: BreakerModel): void {
    if (b.state !== 'closed') return
    if (b.ramp !== undefined) {
      this.open(b)
      return
    }
    b.failures.push(this.now)
    const last = b.failures.slice(-BREAKER.failureThreshold)
    if (
      last.length === BREAKER.failureThreshold &&
      this.now - (last[0] as number) <= BREAKER.windowMs
    ) {
      this.open(b)
    }
  }

  private open(b: BreakerModel): void {
    coverage[b.ramp === undefined ? 'opened' : 'reopenedInRamp']++
    b.state = 'open'
    b.openedAt = this.now
    b.probe = undefined
    if (b.ramp !== undefined) {
      for (const queued of b.ramp.queue) this.settled.set(queued, 'fastOpen')
      b.ramp = undefined
    }
  }

  private close(b: BreakerModel): void {
    coverage.closedByProbe++
    b.state = 'closed'
    b.failures = []
    b.ramp = { allowance: 2, inFlight: new Set(), queue: [] }
  }
}

/** The real system: one client per run, the shared server's held requests, the calls' results. */
interface Real {
  client: UpstreamClient
  calls: Map<number, Promise<void>>
  settled: Map<number, Settled>
}

/** Requests the server holds until the test answers them, by call id. */
const held = new Map<number, { res: http.ServerResponse; outcome: Outcome }>()
let server: TestServer
/** One pool for every run's client: connections are reused instead of opened per run. */
let pool: Pool

/** Private: lets real I/O run (setImmediate is not faked) until `done()` or a bound. */
async function settle(done: () => boolean): Promise<boolean> {
  for (let i = 0; i < 2_000; i++) {
    if (done()) return true
    await new Promise((resolve) => setImmediate(resolve))
  }
  return done()
}

/** Private: the server holds exactly the calls the model says were sent, and outcomes agree. */
async function expectAgreement(m: Model, r: Real): Promise<void> {
  const agree = () => {
    if (held.size !== m.sent.length) return false
    for (const id of m.sent) if (!held.has(id)) return false
    for (const [id, s] of m.settled) if (r.settled.get(id) !== s) return false
    return r.settled.size === m.settled.size
  }
  await settle(agree)
  expect({
    states: r.client.circuitStates(),
    sent: [...held.keys()].sort((a, b) => a - b),
    settled: Object.fromEntries([...r.settled].sort(([a], [b]) => a - b)),
  }).toEqual({
    states: Object.fromEntries([...m.breakers].map(([op, b]) => [op, b.state])),
    sent: [...m.sent].sort((a, b) => a - b),
    settled: Object.fromEntries([...m.settled].sort(([a], [b]) => a - b)),
  })
}

class StartCall implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: Op,
    readonly outcome: Outcome,
  ) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    const id = m.start(this.op, this.outcome)
    const promise = r.client.get(`/x?id=${id}&o=${this.outcome}`, { operation: this.op }).then(
      () => {
        r.settled.set(id, 'ok')
      },
      (error: unknown) => {
        if (isUpstreamErrorCode(error, 'UPSTREAM_CIRCUIT_OPEN')) r.settled.set(id, 'fastOpen')
        else if (isUpstreamErrorCode(error, 'UPSTREAM_HTTP_STATUS'))
          r.settled.set(id, error.status === 404 ? 'notFound' : 'fail')
        else r.settled.set(id, `unexpected ${String(error)}` as Settled)
      },
    )
    r.calls.set(id, promise)
    await expectAgreement(m, r)
  }
  toString = () => `start(${this.op},${this.outcome})`
}

class Answer implements fc.AsyncCommand<Model, Real> {
  constructor(readonly pick: number) {}
  check = (m: Readonly<Model>) => m.sent.length > 0
  async run(m: Model, r: Real): Promise<void> {
    const id = m.sent[this.pick % m.sent.length] as number
    const request = held.get(id)
    expect(request, `call ${id} should be at the server`).toBeDefined()
    held.delete(id)
    const { res, outcome } = request as { res: http.ServerResponse; outcome: Outcome }
    json(res, outcome === 'ok' ? 200 : outcome === 'fail' ? 503 : 404, {})
    m.answer(id)
    await r.calls.get(id)
    await expectAgreement(m, r)
  }
  toString = () => `answer(#${this.pick})`
}

class Advance implements fc.AsyncCommand<Model, Real> {
  constructor(readonly ms: number) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    m.advance(this.ms)
    await vi.advanceTimersByTimeAsync(this.ms)
    await expectAgreement(m, r)
  }
  toString = () => `advance(${this.ms})`
}

/** A call answered at once: sequential traffic, which moves the breaker through its states. */
class Call implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: Op,
    readonly outcome: Outcome,
  ) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    await new StartCall(this.op, this.outcome).run(m, r)
    const id = m.nextId - 1
    if (m.sent.includes(id)) await new Answer(m.sent.indexOf(id)).run(m, r)
  }
  toString = () => `call(${this.op},${this.outcome})`
}

/** Several calls started together: concurrency, where the ramp's limit and queue matter. */
class Burst implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly op: Op,
    readonly outcomes: Outcome[],
  ) {}
  check = () => true
  async run(m: Model, r: Real): Promise<void> {
    for (const o of this.outcomes) await new StartCall(this.op, o).run(m, r)
  }
  toString = () => `burst(${this.op},${this.outcomes.join(',')})`
}

const outcome = fc.constantFrom<Outcome>('ok', 'fail', 'fail', 'notFound')
// Mostly one operation, so each breaker still goes through its states within 25 commands; the
// other operation's calls must never move it.
const op = fc.constantFrom<Op>('getA', 'getA', 'getA', 'getB')
const commands = [
  fc.tuple(op, outcome).map(([p, o]) => new Call(p, o)),
  fc.tuple(op, outcome).map(([p, o]) => new Call(p, o)),
  fc.tuple(op, outcome).map(([p, o]) => new StartCall(p, o)),
  fc.tuple(op, outcome).map(([p, o]) => new StartCall(p, o)),
  fc.tuple(op, fc.array(outcome, { minLength: 2, maxLength: 4 })).map(([p, o]) => new Burst(p, o)),
  fc.nat(7).map((n) => new Answer(n)),
  fc.nat(7).map((n) => new Answer(n)),
  fc.constantFrom(1, 100, 250, 499, 500, 1_001).map((ms) => new Advance(ms)),
]

describe('per-operation circuit breakers against a reference model (fast-check)', () => {
  beforeAll(async () => {
    server = await startServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      held.set(Number(url.searchParams.get('id')), {
        res,
        outcome: url.searchParams.get('o') as Outcome,
      })
    })
    // More connections than the calls a run can hold at the server, so the pool never queues one.
    pool = new Pool(server.origin, { connections: 128 })
    // Only timers and Date: setImmediate and nextTick stay real, so sockets and streams run.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
  })
  afterAll(async () => {
    vi.useRealTimers()
    await pool.close()
    await server.close()
  })

  it('agrees with the model on 1,000 random sequences (fixed seed)', async () => {
    // The client's clock reads the faked globals, so opossum's reset timer and the failure window
    // run on the same time.
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
    }
    let runs = 0
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 25, size: 'max' }), async (cmds) => {
        runs++
        const client = createUpstreamClient({
          baseUrl: server.origin,
          clock,
          retry: false,
          cache: false,
          dispatcher: pool,
          timeoutMs: 3_600_000,
          deadlineMs: 3_600_000,
          breaker: BREAKER,
        })
        const real: Real = { client, calls: new Map(), settled: new Map() }
        try {
          await fc.asyncModelRun(() => ({ model: new Model(), real }), cmds)
        } finally {
          // Answer whatever is still held, and whatever the ramp admits as a result, until every
          // call of the run has settled; then the pool closes at once.
          let allSettled = false
          void Promise.all(real.calls.values()).then(() => {
            allSettled = true
          })
          await settle(() => {
            for (const [id, { res }] of held) {
              held.delete(id)
              json(res, 200, {})
            }
            return allSettled
          })
          await client.close()
        }
      }),
      { seed: 20_261_130, numRuns: 1_000 },
    )
    expect(runs).toBeGreaterThanOrEqual(1_000)
    console.log('breaker model coverage over the runs:', coverage)
    // Every branch of the rule was exercised, so agreement means something.
    for (const [branch, count] of Object.entries(coverage)) {
      expect(count, branch).toBeGreaterThan(0)
    }
  }, 60_000)
})
