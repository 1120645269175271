/**
 * Throughput of `mock.listen()` (node:http → Fetch Request → msw getResponse → node:http) against
 * a bare node:http server answering the same JSON, both over keep-alive on 127.0.0.1. Shows the
 * cost of reusing the msw handlers instead of writing a second router. Stops by itself.
 */
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

// Warm up both, then alternate measured rounds so machine noise hits both alike.
await run(served.url)
await run(bareUrl)
const rounds = { mock: [] as number[], bare: [] as number[] }
for (let i = 0; i < 3; i++) {
  rounds.mock.push(await run(served.url))
  rounds.bare.push(await run(bareUrl))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const m = median(rounds.mock)
const b = median(rounds.bare)
console.log(`requests per round: ${REQUESTS}, concurrency ${CONCURRENCY}, keep-alive`)
console.log(`mock.listen() (msw getResponse): ${m.toFixed(0)} req/s`)
console.log(`bare node:http:                  ${b.toFixed(0)} req/s`)
console.log(`ratio mock/bare: ${(m / b).toFixed(2)}`)
await served.close()
bare.close()
bare.closeAllConnections()
