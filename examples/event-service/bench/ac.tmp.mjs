import autocannon from 'autocannon'
const url = process.argv[2]
await autocannon({ url, connections: 50, duration: 3 })
const r = await autocannon({ url, connections: 50, duration: 5 })
console.log('rps', r.requests.average, 'p99', r.latency.p99)
