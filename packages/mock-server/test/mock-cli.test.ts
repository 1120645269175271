import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { runMockCli } from '../src/cli/mock-cli.js'
import type { MockServerHandle } from '../src/index.js'

let server: MockServerHandle | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

const capture = () => {
  const out = { stdout: '', stderr: '' }
  return {
    out,
    io: {
      stdout: { write: (s: string) => (out.stdout += s) },
      stderr: { write: (s: string) => (out.stderr += s) },
    },
  }
}

describe('userevents-mock', () => {
  it('serves the requested data set and mode, printing its URL', async () => {
    const { out, io } = capture()
    const result = await runMockCli(
      ['--port', '0', '--mode', 'healthy', '--events-per-user', '5', '--seed', '9', '--no-delays'],
      io,
    )
    expect(typeof result).toBe('object')
    server = result as MockServerHandle
    expect(out.stdout).toBe(`${server.url}\n`)
    expect(out.stderr).toContain('mode=healthy seed=9 users=3 events=15')
    const user = await (await fetch(`${server.url}/getUserById/2`)).json()
    expect(user).toMatchObject({ id: '2', events: ['6', '7', '8', '9', '10'] })
    expect((await fetch(`${server.url}/getEventById/15`)).status).toBe(200)
  })

  it.each([
    [['--port', 'x'], 'Expected `--port` to be an integer from 0 to 65535, got "x"'],
    [
      ['--mode', 'off'],
      'Expected `mode` to be one of healthy, down, flapping, slow, brownout, got "off"',
    ],
    [['--events-per-user=-2'], 'Expected `--events-per-user` to be a non-negative integer'],
    [['--seed', '1.5'], 'Expected `seed` to be an integer, got 1.5'],
    [['--nope'], "Unknown option '--nope'"],
  ])('exits 2 for %j', async (argv, message) => {
    const { out, io } = capture()
    expect(await runMockCli(argv, io)).toBe(2)
    expect(out.stderr).toContain(message)
  })

  it('runs as a process and stops cleanly on SIGTERM', async () => {
    const bin = fileURLToPath(new URL('../src/cli/mock.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', bin, '--port', '0', '--no-delays'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    )
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(String(chunk).trim()))
      child.once('exit', () => reject(new Error('exited before printing its URL')))
    })
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect((await fetch(`${url}/getUserById/1`)).status).toBe(200)
    child.kill('SIGTERM')
    expect(await exited).toEqual({ code: 0, signal: null })
  })
})
