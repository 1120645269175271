import { spawn } from 'node:child_process'
import { createMockUpstream } from '@userevents/mock-server'
import autocannon from 'autocannon'
const path = process.argv[2] ?? '/getEventsByUserId/1'
const mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
const upstream = await mock.listen({ host: '127.0.0.1', port: 0 })
const port = 39000 + Math.floor(Math.random() * 1000)
const child = spawn(process.execPath, [...(process.env.PROF ? ['--cpu-prof', '--cpu-prof-dir=/tmp/prof'] : []), ...(process.env.NODEFLAGS ? process.env.NODEFLAGS.split(' ') : []), 'dist/main.js'], {
  env: { ...process.env, PORT: String(port), UPSTREAM_BASE: upstream.url, CACHE_TTL_MS: '3600000', LIST_CACHE_TTL_MS: '3600000', OTEL_SDK_DISABLED: 'true' },
  stdio: ['ignore', process.env.NODEFLAGS ? 'inherit' : 'ignore', 'inherit'],
})
const url = `http://127.0.0.1:${port}`
for (;;) { try { if ((await fetch(url + '/healthz')).ok) break } catch {} await new Promise(r => setTimeout(r, 100)) }
await fetch(url + path)
await autocannon({ url: url + path, connections: 50, duration: 3 })
const r = await autocannon({ url: url + path, connections: 50, duration: Number(process.env.D ?? 10) })
console.log('rps', r.requests.average, 'p99', r.latency.p99)
child.kill('SIGTERM')
await new Promise(r => child.on('exit', r))
await upstream.close()
process.exit(0)
