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

describe('createRedisConnection: options, checked before any I/O', () => {
  it.each([
    [{}, /Expected `url` to be a redis:\/\/ URL, or `cluster` a list of node URLs/],
    [{ url: 'redis://a:1', cluster: ['a:1'] }, /exactly one of them/],
    [{ cluster: [] }, /Expected `cluster` to be a non-empty array of node addresses/],
    [{ cluster: 'a:1' }, /Expected `cluster` to be a non-empty array/],
    [
      { cluster: ['127.0.0.1'] },
      /Expected `cluster\[0\]` to be a host:port or redis:\/\/ \/ rediss:\/\/ URL with a port, got "127.0.0.1"/,
    ],
    [{ cluster: ['http://a:1'] }, /Expected `cluster\[0\]`.*got "http:\/\/a:1"/],
    [{ cluster: ['redis://a:1/2'] }, /without a database/],
    [
      { cluster: ['redis://:pw@a:1', 'redis://:other@b:2'] },
      /Expected `cluster\[1\]` to be a node with the same scheme and credentials as cluster\[0\].*got "redis:\/\/:\*\*\*@b:2"/,
    ],
    [{ cluster: ['rediss://a:1', 'redis://b:2'] }, /same scheme and credentials/],
    [{ redis: {} }, /Expected `redis` to be an ioredis client \(Redis or Cluster\), got \{\}/],
    [
      { url: 'redis://a:1', clster: [] },
      /Unknown option `clster`; expected one of url, cluster, redis/,
    ],
  ])('rejects %j', (options, message) => {
    expect(() => createRedisConnection(options as never)).toThrow(message)
  })
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
