/**
 * The upstream of the brownout benchmark, run in its own process (so its work does not share an
 * event loop with the clients being measured): the mock server in `healthy` mode with one latency
 * for every route. The benchmark switches it into and out of the brownout through
 * `POST /__admin/mode` and reads its counters from `GET /__admin/calls`.
 *
 * Usage: `node --import tsx bench/brownout-upstream.ts <latencyMs> '<brownout settings JSON>'`;
 * prints the URL, exits when stdin closes.
 */
import { createMockUpstream } from '@userevents/mock-server'

const latencyMs = Number(process.argv[2] ?? 50)
const brownout = JSON.parse(process.argv[3] ?? '{}')
const mock = createMockUpstream({ mode: 'healthy', delays: { default: latencyMs }, brownout })
const server = await mock.listen({ keepAliveTimeoutMs: 60_000 })
process.stdout.write(`${server.url}\n`)
process.stdin.on('end', () => {
  void server.close().then(() => process.exit(0))
})
process.stdin.resume()
