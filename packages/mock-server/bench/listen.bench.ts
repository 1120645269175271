/**
 * Throughput of `mock.listen()` (node:http → the core routes, the same ones msw's handlers adapt
 * → node:http) against a bare node:http server answering the same JSON, both over keep-alive on
 * 127.0.0.1, in 6 interleaved rounds (alternating which goes first), median of each. Shows what
 * serving the one definition of behaviour costs on a real port. Stops by itself.
 */
import { execSync } from 'node:child_process'
import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createMockUpstream } from '../src/index.js'

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 5000)
const CONCURRENCY = 50

async function run(url: string): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY })
  let next = 0
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const req = request(`${url}/getEventById/${(next % 4) + 1}`, { agent }, (res) => {
        res.resume()
        res.on('end', () =>
          res.statusCode === 200 ? resolve() : reject(new Error(`${res.statusCode}`)),
        )
      })
      req.on('error', reject)
      req.end()
    })
  const worker = async () => {
    while (next++ < REQUESTS) await one()
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  const seconds = (performance.now() - start) / 1000
  agent.destroy()
  return REQUESTS / seconds
}

const mock = createMockUpstream({ delays: 0, mode: 'healthy' })
const served = await mock.listen()
const event = JSON.stringify(mock.store.getEvent('1'))
const bare = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' })
  res.end(event)
})
await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve))
const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`

// Warm up both, then alternate measured rounds (and which goes first) so machine noise hits both
// alike.
const load = () => execSync('uptime').toString().trim()
console.log(`node ${process.version}; load before: ${load()}`)
await run(served.url)
await run(bareUrl)
const rounds = { mock: [] as number[], bare: [] as number[] }
for (let i = 0; i < 6; i++) {
  if (i % 2 === 0) {
    rounds.mock.push(await run(served.url))
    rounds.bare.push(await run(bareUrl))
  } else {
    rounds.bare.push(await run(bareUrl))
    rounds.mock.push(await run(served.url))
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const m = median(rounds.mock)
const b = median(rounds.bare)
console.log(`requests per round: ${REQUESTS}, concurrency ${CONCURRENCY}, keep-alive`)
console.log(`mock.listen() (core routes): ${m.toFixed(0)} req/s (median of 6)`)
console.log(`bare node:http:              ${b.toFixed(0)} req/s (median of 6)`)
console.log(`ratio mock/bare: ${(m / b).toFixed(2)} (target >= 0.5)`)
console.log(`load after: ${load()}`)
await served.close()
bare.close()
bare.closeAllConnections()
