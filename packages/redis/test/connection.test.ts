import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRedisConnection } from '../src/index.js'
import { type RedisServer, startRedisServer } from './redis-server.js'

let server: RedisServer

beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server.stop()
})

describe('createRedisConnection: the subscriber connection', () => {
  // A SUBSCRIBE asked for while Redis is away is queued; the first failed connection attempt
  // used to reject it (the command connection's `maxRetriesPerRequest: 0`), and ioredis only
  // re-subscribes channels whose SUBSCRIBE had succeeded: the channel was lost for good.
  it('hears a channel subscribed while Redis was away, once Redis is there', async () => {
    await server.stop()
    const connection = createRedisConnection({ url: server.url, commandTimeoutMs: 1_000 })
    const heard: string[] = []
    connection.subscribe('test:channel', (message) => heard.push(message))
    // Let a few connection attempts fail first.
    await new Promise((resolve) => setTimeout(resolve, 300))
    await server.restart()
    const publisher = new Redis(server.url)
    publisher.on('error', () => {})
    try {
      await vi.waitFor(
        async () => {
          await publisher.publish('test:channel', 'hello')
          expect(heard).toContain('hello')
        },
        { timeout: 5_000, interval: 100 },
      )
    } finally {
      publisher.disconnect()
      await connection.close()
    }
  })
})
