/**
 * Throughput benchmark: this client (retry and per-operation breakers on, cache off; and the
 * same with one shared breaker from `createCircuitBreaker`, the pre-isolation configuration)
 * against raw
 * `undici.request` through a Pool, global `fetch`, got and axios, all closed-loop with the same
 * number of concurrent workers against one local keep-alive server running in a child process
 * (so it gets its own core). Also measures fail-fast calls per second with the circuit open.
 *
 * Run: `pnpm --filter @userevents/upstream-client bench` (or `npx tsx bench/client.bench.ts`).
 * Writes `bench/results.json`. Bounded: about 40 s, 127.0.0.1 only.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import axios from 'axios'
import got from 'got'
import { Pool, request } from 'undici'
import { createCircuitBreaker, createUpstreamClient, path } from '../src/index.js'

const WORKERS = Number(process.env.BENCH_WORKERS ?? 50)
const SLICE_MS = Number(process.env.BENCH_SLICE_MS ?? 600)
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 400)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const PATH = '/getEventById/1'

/** The upstream: a few lines of node:http, keep-alive, one small JSON document. */
const SERVER_SOURCE = `
const http = require('node:http')
const body = JSON.stringify({ id: '1', name: 'login', userId: '1', details: 'from the bench' })
const server = http.createServer((req, res) => {
  req.resume()
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
  res.end(body)
})
server.keepAliveTimeout = 60000
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'))
process.on('disconnect', () => process.exit(0))
process.stdin.on('end', () => process.exit(0))
process.stdin.resume()
`

type Call = () => Promise<unknown>

async function startServer(): Promise<{ origin: string; stop: () => void }> {
  const child = spawn(process.execPath, ['-e', SERVER_SOURCE], {
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject)
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()))
  })
  return { origin: `http://127.0.0.1:${port}`, stop: () => child.kill() }
}

/** Closed loop: `WORKERS` loops each awaiting one call at a time until the time is up. */
async function closedLoop(
  call: Call,
  durationMs: number,
): Promise<{ rps: number; errors: number }> {
  let done = 0
  let errors = 0
  const end = performance.now() + durationMs
  const worker = async () => {
    while (performance.now() < end) {
      try {
        await call()
        done++
      } catch {
        errors++
      }
    }
  }
  const started = performance.now()
  await Promise.all(Array.from({ length: WORKERS }, worker))
  return { rps: (done / (performance.now() - started)) * 1000, errors }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
}

async function main() {
  const server = await startServer()
  const url = server.origin + PATH

  const client = createUpstreamClient({ baseUrl: server.origin, connections: WORKERS })
  // One breaker for every operation: what every client had before per-operation breakers.
  const sharedBreaker = createCircuitBreaker({ name: 'bench' })
  const single = createUpstreamClient({
    baseUrl: server.origin,
    connections: WORKERS,
    breaker: sharedBreaker,
  })
  const bare = createUpstreamClient({
    baseUrl: server.origin,
    connections: WORKERS,
    retry: false,
    breaker: false,
  })
  const pool = new Pool(server.origin, { connections: WORKERS })
  const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS })
  const gotClient = got.extend({ agent: { http: agent }, retry: { limit: 0 } })
  const axiosClient = axios.create({ httpAgent: agent })

  const contenders: Record<string, Call> = {
    // The path tag is part of the measured cost: it encodes the id and records the template
    // that keys the operation's breaker (`GET /getEventById/{}`).
    'upstream-client (retry + per-operation breakers, no cache)': () =>
      client.get(path`/getEventById/${1}`),
    'upstream-client (retry + single shared breaker, no cache)': () => single.get(PATH),
    'undici.request via Pool': async () => {
      const { body } = await request(url, { dispatcher: pool })
      return body.json()
    },
    'upstream-client (retry and breaker off)': () => bare.get(PATH),
    'global fetch': async () => (await fetch(url)).json(),
    got: () => gotClient(url).json(),
    axios: async () => (await axiosClient.get(url)).data,
  }

  // The machine is shared, so load from other processes drifts during the run. Short slices,
  // interleaved round-robin with a rotating start, expose every contender to the same drift; each
  // contender reports the median of its slices.
  const names = Object.keys(contenders)
  for (const name of names) await closedLoop(contenders[name] as Call, WARMUP_MS)
  const slices: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]))
  const errors: Record<string, number> = Object.fromEntries(names.map((n) => [n, 0]))
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as string
      const result = await closedLoop(contenders[name] as Call, SLICE_MS)
      slices[name]?.push(result.rps)
      errors[name] = (errors[name] ?? 0) + result.errors
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS}\r`)
  }
  const best: Record<string, { rps: number; errors: number; min: number; max: number }> = {}
  for (const name of names) {
    const values = slices[name] ?? []
    best[name] = {
      rps: median(values),
      errors: errors[name] ?? 0,
      min: Math.min(...values),
      max: Math.max(...values),
    }
  }

  // Fail fast: a client whose circuit is open (one refused connection trips a threshold of 1).
  const dead = createUpstreamClient({
    baseUrl: 'http://127.0.0.1:9',
    retry: false,
    breaker: { failureThreshold: 1, resetTimeoutMs: 600_000 },
  })
  await dead.get(PATH).catch(() => undefined)
  if (dead.circuitState !== 'open')
    throw new Error(`expected an open circuit, got ${dead.circuitState}`)
  const failFast = await closedLoop(() => dead.get(PATH), 1_000)

  const raw = best['undici.request via Pool']?.rps ?? Number.NaN
  const rows = Object.entries(best).map(([name, r]) => ({
    client: name,
    rps: Math.round(r.rps),
    minRps: Math.round(r.min),
    maxRps: Math.round(r.max),
    ratioToUndici: Number((r.rps / raw).toFixed(2)),
    errors: r.errors,
  }))
  const ours = best['upstream-client (retry + per-operation breakers, no cache)']?.rps ?? 0
  const singleRps = best['upstream-client (retry + single shared breaker, no cache)']?.rps ?? 0
  const fetchRps = best['global fetch']?.rps ?? Number.NaN
  const results = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    workers: WORKERS,
    sliceMs: SLICE_MS,
    rounds: ROUNDS,
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
    rows,
    // Every call rejects with CircuitOpenError; over a 1 s loop the rejections are the rate.
    openCircuitFailFastCallsPerSec: Math.round(failFast.errors),
    targets: {
      atLeast85PercentOfUndici: ours >= 0.85 * raw,
      atLeast2xFetch: ours >= 2 * fetchRps,
      within10PercentOfSingleBreaker: ours >= 0.9 * singleRps,
      ratioToSingleBreaker: Number((ours / singleRps).toFixed(2)),
      ratioToUndici: Number((ours / raw).toFixed(2)),
      ratioToFetch: Number((ours / fetchRps).toFixed(2)),
    },
  }

  console.log(
    `\nNode ${process.version}, ${results.cpus} CPUs, ${WORKERS} workers, median of ${ROUNDS} interleaved ${SLICE_MS} ms slices\n`,
  )
  console.log('| client | req/s (median) | min–max | ratio to undici.request |')
  console.log('| --- | ---: | ---: | ---: |')
  for (const row of rows) {
    console.log(
      `| ${row.client} | ${row.rps} | ${row.minRps}–${row.maxRps} | ${row.ratioToUndici.toFixed(2)} |`,
    )
  }
  console.log(`\nopen circuit, fail-fast: ${results.openCircuitFailFastCallsPerSec} calls/s`)
  console.log(
    `targets: >= 0.85 x undici: ${results.targets.atLeast85PercentOfUndici} (${results.targets.ratioToUndici}), >= 2 x fetch: ${results.targets.atLeast2xFetch} (${results.targets.ratioToFetch}), per-operation >= 0.9 x single breaker: ${results.targets.within10PercentOfSingleBreaker} (${results.targets.ratioToSingleBreaker})`,
  )
  writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(results, null, 2)}\n`)

  await Promise.all([client.close(), single.close(), bare.close(), dead.close(), pool.close()])
  sharedBreaker.shutdown()
  agent.destroy()
  server.stop()
}

main().catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
