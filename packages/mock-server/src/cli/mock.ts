#!/usr/bin/env node
import type { MockServerHandle } from '../listen.js'
import { runMockCli } from './mock-cli.js'

// The bin: start the server, then stop it cleanly on SIGINT/SIGTERM (open keep-alive connections
// are closed, so the process exits at once instead of waiting for their timeout). The handlers
// are installed before the server starts: a supervisor may signal as soon as it reads the URL.
let server: MockServerHandle | undefined
let stopping = false
const close = (handle: MockServerHandle) =>
  handle.close().then(
    () => {
      process.exitCode = 0
    },
    (error: unknown) => {
      process.stderr.write(`${String(error)}\n`)
      process.exitCode = 1
    },
  )
const stop = (signal: string) => {
  if (stopping) return
  stopping = true
  process.stderr.write(`userevents-mock: ${signal}, closing\n`)
  if (server) void close(server)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

const result = await runMockCli(process.argv.slice(2), process)
if (typeof result === 'number') {
  process.exitCode = result
  process.off('SIGINT', stop)
  process.off('SIGTERM', stop)
} else {
  server = result
  if (stopping) void close(server)
}
