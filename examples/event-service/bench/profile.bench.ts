/**
 * `pnpm --filter @userevents/example-event-service bench:profile [path,…] [seconds]`: a CPU
 * profile of the built service as `pnpm start` runs it (SDK on; `PROFILE_SDK_OFF=1` for the SDK
 * off) under autocannon (50 connections), the mock upstream in this process, caches longer than
 * the run and each URL requested once first. Prints the self time by package and by function
 * (`bench/summarize-profile.ts`), as the README's "where the cost goes" quotes it.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createMockUpstream } from '@userevents/mock-server'
import autocannon from 'autocannon'
import { summarizeProfile } from './summarize-profile.js'

const paths = (process.argv[2] ?? '/getEventsByUserId/1').split(',')
const seconds = Number(process.argv[3] ?? 10)
const here = fileURLToPath(new URL('.', import.meta.url))
const dir = mkdtempSync(join(tmpdir(), 'event-service-profile-'))

const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })
const port = await freePort()
const child = spawn(
  process.execPath,
  ['--cpu-prof', `--cpu-prof-dir=${dir}`, join(here, '..', 'dist', 'main.js')],
  {
    env: {
      ...process.env,
      UPSTREAM_BASE: upstream.url,
      PORT: String(port),
      CACHE_TTL_MS: '3600000',
      LIST_CACHE_TTL_MS: '3600000',
      OTEL_SDK_DISABLED: process.env.PROFILE_SDK_OFF === '1' ? 'true' : undefined,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  },
)
const url = `http://127.0.0.1:${port}`
await waitUntilUp(url)
for (const path of paths) await (await fetch(url + path)).text()
for (const path of paths) {
  const result = await autocannon({ url: url + path, connections: 50, duration: seconds })
  console.log(`${path}: ${Math.round(result.requests.average)} req/s, p99 ${result.latency.p99} ms`)
}
child.kill('SIGTERM')
await new Promise((resolve) => child.once('exit', resolve))
await upstream.close()
const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))
if (file === undefined) throw new Error(`no profile written in ${dir}`)
console.log(`${join(dir, file)}\n${summarizeProfile(join(dir, file), 40)}`)

async function waitUntilUp(base: string) {
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${base}/healthz`)
      return
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  throw new Error(`${base} did not come up`)
}

async function freePort(): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
