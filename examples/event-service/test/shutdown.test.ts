import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { installGracefulShutdown } from '../src/shutdown.js'
import { startStack, type TestStack } from './helpers.js'

const silent = { info: () => {}, error: () => {} }

/** A stand-in for `process` as a signal source: emitting on it never signals the test runner. */
function signalSource() {
  return new EventEmitter() as EventEmitter & Pick<NodeJS.Process, 'on' | 'off'>
}

describe('graceful shutdown', () => {
  let stack: TestStack | undefined
  afterEach(async () => {
    await stack?.close()
    stack = undefined
  })

  it('on SIGTERM stops accepting, lets the in-flight request finish, closes the pools, exits 0', async () => {
    stack = await startStack({ mock: { delays: { getEventById: 300 } } })
    const { service, mock } = stack
    const url = await service.listen()
    const order: string[] = []
    const exited = new Promise<number>((resolve) => {
      installGracefulShutdown({
        close: () => service.close(),
        logger: silent,
        timeoutMs: 5_000,
        target: source,
        exit: (code) => {
          order.push(`exit ${code}`)
          resolve(code)
        },
      })
    })

    const inFlight = fetch(`${url}/getEventsByUserId/1`).then(async (res) => {
      order.push(`response ${res.status}`)
      return (await res.json()) as unknown[]
    })
    // The request is inside the service, waiting on the upstream's 300 ms event reads.
    await vi.waitFor(() => expect(mock.inFlight('getEventById')).toBeGreaterThan(0), {
      interval: 2,
    })
    source.emit('SIGTERM', 'SIGTERM')

    expect(await inFlight).toHaveLength(2)
    expect(await exited).toBe(0)
    // (The client may see the answer a tick after the process would have exited; the answer
    // arriving whole with its 200 is the proof that the drain waited for it.)
    expect(order.sort()).toEqual(['exit 0', 'response 200'])
    // No longer accepting, and the client's pool and the embedded mock are closed.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow()
    // By its own code: the mock is closed too, so any rejection alone would prove nothing.
    await expect(service.client.get('/getUsers')).rejects.toMatchObject({
      attempts: 0,
      cause: { code: 'UPSTREAM_CLIENT_CLOSED' },
    })
    await expect(fetch(`${service.upstreamUrl}/getUsers`)).rejects.toThrow()
    stack = undefined
  })

  it('ignores an echo of the first signal (< 1 s, as npx/pnpm forward it) and exits 1 on a later one', async () => {
    const codes: number[] = []
    let clock = 10_000
    const twice = signalSource()
    installGracefulShutdown({
      close: () => new Promise(() => {}),
      logger: silent,
      timeoutMs: 60_000,
      target: twice,
      exit: (code) => codes.push(code),
      now: () => clock,
    })
    twice.emit('SIGINT', 'SIGINT')
    expect(codes).toEqual([])
    // The wrapper's forwarded copy, 40 ms later, and a SIGTERM to the group at 999 ms: still draining.
    clock += 40
    twice.emit('SIGINT', 'SIGINT')
    clock += 959
    twice.emit('SIGTERM', 'SIGTERM')
    expect(codes).toEqual([])
    // A deliberate second Ctrl-C a second after the first forces the exit.
    clock += 1
    twice.emit('SIGINT', 'SIGINT')
    expect(codes).toEqual([1])

    const slow = signalSource()
    const timedOut = new Promise<number>((resolve) => {
      installGracefulShutdown({
        close: () => new Promise(() => {}),
        logger: silent,
        timeoutMs: 20,
        target: slow,
        exit: resolve,
      })
    })
    slow.emit('SIGTERM', 'SIGTERM')
    expect(await timedOut).toBe(1)
  })
})

const source = signalSource()

/** `pnpm start` for real: a child process, real signals, real exit codes. */
describe('src/main.ts as a process', () => {
  const cwd = fileURLToPath(new URL('..', import.meta.url))
  const run = (env: Record<string, string>) => {
    // `--import tsx` rather than the tsx CLI: one process, so the signal reaches main.ts directly.
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd,
      env: { ...process.env, UPSTREAM_BASE: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    return { child, exit, out: () => stdout, err: () => stderr }
  }

  it.concurrent('refuses a bad configuration with a clear message and exit code 1', async ({
    expect,
  }) => {
    const p = run({ PORT: 'abc', LOG_LEVEL: 'loud' })
    expect(await p.exit).toBe(1)
    expect(p.err()).toContain('PORT must be an integer from 0 to 65535, got "abc"')
    expect(p.err()).toContain('LOG_LEVEL must be one of')
  })

  it.concurrent('starts the embedded mock without UPSTREAM_BASE, serves, and exits 0 on SIGTERM', async ({
    expect,
  }) => {
    const p = run({ PORT: '0', LOG_LEVEL: 'info' })
    const listening = await vi.waitFor(
      () => {
        const line = p
          .out()
          .split('\n')
          .find((l) => l.includes('"embeddedMock":true'))
        if (line === undefined) throw new Error(`not listening yet: ${p.err()}`)
        return JSON.parse(line) as { url: string }
      },
      { timeout: 12_000, interval: 20 },
    )
    expect(p.out()).toContain('UPSTREAM_BASE is not set: started the embedded mock upstream')
    const res = await fetch(`${listening.url}/getEventsByUserId/1?fields=name`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual([
      { id: '1', name: 'Login' },
      { id: '2', name: 'Purchase' },
    ])
    p.child.kill('SIGTERM')
    expect(await p.exit).toBe(0)
    expect(p.out()).toContain('shutdown complete')
  })
})
