// A/B: two builds/configs of the service, interleaved autocannon slices. ARGS: A_ENV_JSON B_ENV_JSON [path]
import { spawn } from 'node:child_process'
import { createMockUpstream } from '@userevents/mock-server'
import autocannon from 'autocannon'
const [aEnv, bEnv] = [JSON.parse(process.argv[2] ?? '{}'), JSON.parse(process.argv[3] ?? '{}')]
const path = process.argv[4] ?? '/getEventsByUserId/1'
const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })
const kids = []
async function start(env) {
  const port = 39000 + Math.floor(Math.random() * 1000)
  const main = env.MAIN ?? 'dist/main.js'
  const child = spawn(process.execPath, [main], {
    env: { ...process.env, PORT: String(port), UPSTREAM_BASE: upstream.url, CACHE_TTL_MS: '3600000', LIST_CACHE_TTL_MS: '3600000', OTEL_SDK_DISABLED: 'true', ...env },
    stdio: ['ignore', 'ignore', 'ignore'],
  })
  kids.push(child)
  const url = `http://127.0.0.1:${port}`
  for (;;) { try { if ((await fetch(url + '/healthz')).ok) break } catch {} await new Promise(r => setTimeout(r, 100)) }
  await fetch(url + path)
  await autocannon({ url: url + path, connections: 50, duration: 3 })
  return url
}
const a = await start(aEnv), b = await start(bEnv)
const ra = [], rb = [], pa = [], pb = []
for (let i = 0; i < Number(process.env.ROUNDS ?? 5); i++) {
  const order = i % 2 ? [[b, rb, pb], [a, ra, pa]] : [[a, ra, pa], [b, rb, pb]]
  for (const [u, r, p] of order) { const x = await autocannon({ url: u + path, connections: 50, duration: 2 }); r.push(x.requests.average); p.push(x.latency.p99) }
}
const med = (x) => x.slice().sort((m, n) => m - n)[Math.floor(x.length / 2)]
console.log('A', med(ra), 'p99', med(pa), JSON.stringify(ra.map(Math.round)))
console.log('B', med(rb), 'p99', med(pb), JSON.stringify(rb.map(Math.round)))
console.log('B/A', (med(rb) / med(ra)).toFixed(2))
for (const k of kids) k.kill('SIGKILL')
await upstream.close(); process.exit(0)
