/**
 * Child process of the benchmark: serves the mock upstream on 127.0.0.1 in its own process (a
 * real upstream is another service; sharing the benchmark's event loop would bill the mock's
 * CPU to the strategies). Sends `{ url }` over IPC once listening and exits when the parent
 * disconnects. Usage: `tsx bench/mock-worker.ts <delayMs> <n1,n2,...>`.
 */
import { createMockUpstream, generateUserWithEvents } from '@userevents/mock-server'
import type { Event, User } from '../src/index.js'

const [delay, sizes] = process.argv.slice(2)
const data = { users: [] as User[], events: [] as Event[] }
let first = 1
for (const n of (sizes ?? '').split(',').map(Number)) {
  const part = generateUserWithEvents(n, {
    userId: `u${n}`,
    firstEventId: first,
    detailsLength: 64,
  })
  first += n
  data.users.push(...part.users)
  data.events.push(...part.events)
}
const mock = createMockUpstream({
  mode: 'healthy',
  delays: { getEventById: Number(delay), default: 0 },
  data,
})
const server = await mock.listen({ host: '127.0.0.1' })
process.send?.({ url: server.url })
process.on('disconnect', () => {
  server.close().finally(() => process.exit(0))
})
