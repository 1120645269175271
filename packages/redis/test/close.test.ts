import type { Logger } from '@userevents/upstream-client'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createRedisConnection } from '../src/index.js'
import { closeInChild } from './bundle.js'
import { freePort, type RedisServer, startRedisServer } from './redis-server.js'

let server: RedisServer
beforeAll(async () => {
  server = await startRedisServer()
})
afterAll(async () => {
  await server.stop()
})

describe('createRedisConnection: start-up and shutdown', () => {
  // The one time bound of these tests (issue 21): after close() resolved, the process exits by
  // itself within 300 ms, or the test kills it. It was ~2 s with Redis away: ioredis' default
  // disconnectTimeout timer on a socket whose connection attempt had failed was never cleared.
  it.each([
    ['Redis away, closed at once', 'down', '0'],
    ['Redis away, closed after ready() gave up', 'down', '1'],
    ['Redis up, closed at once', 'up', '0'],
    ['Redis up, closed after ready()', 'up', '1'],
  ])('a process exits as soon as close() resolved: %s', async (_, redis, waitReady) => {
    const url = redis === 'up' ? server.url : `redis://127.0.0.1:${await freePort()}`
    const outcome = await closeInChild(
      { REDIS_URL: url, WAIT_READY: waitReady, READY_TIMEOUT_MS: '300' },
      300,
    )
    expect(outcome).toEqual({ ended: 'exited', closed: true, code: 0 })
  })

  it('one warning with the cause when the first connection attempt fails, then one line per switch', async () => {
    await server.stop()
    const lines: Array<{ level: string; message: string | undefined; fields: object }> = []
    const connection = createRedisConnection({
      url: server.url,
      commandTimeoutMs: 1_000,
      logger: recorder(lines),
    })
    try {
      const warns = () => lines.filter((l) => l.level === 'warn')
      // Several failed attempts (debug lines), one warning.
      await vi.waitFor(
        () => expect(lines.filter((l) => l.level === 'debug').length).toBeGreaterThan(2),
        {
          timeout: 10_000,
        },
      )
      expect(warns()).toEqual([
        {
          level: 'warn',
          message: 'Redis unreachable at start: serving from local caches until it answers',
          fields: {
            component: 'redis',
            mode: 'local',
            cause: `connect ECONNREFUSED 127.0.0.1:${server.port}`,
          },
        },
      ])
      await server.restart()
      await vi.waitFor(() => expect(connection.mode).toBe('fleet'), { timeout: 10_000 })
      await server.stop()
      await vi.waitFor(() => expect(connection.mode).toBe('local'), { timeout: 10_000 })
      expect(lines.filter((l) => l.level !== 'debug').map((l) => l.message)).toEqual([
        'Redis unreachable at start: serving from local caches until it answers',
        'Redis available: fleet mode on',
        'Redis unavailable: fleet mode off, serving from local caches',
      ])
    } finally {
      await connection.close()
      await server.restart()
    }
  })

  it('a cluster whose start-up nodes are all unreachable: one warning naming the nodes', async () => {
    const ports = [await freePort(), await freePort()]
    const lines: Array<{ level: string; message: string | undefined; fields: object }> = []
    const connection = createRedisConnection({
      cluster: ports.map((p) => `127.0.0.1:${p}`),
      logger: recorder(lines),
    })
    try {
      await vi.waitFor(
        () => expect(lines.filter((l) => l.level === 'debug').length).toBeGreaterThan(1),
        { timeout: 10_000 },
      )
      const warns = lines.filter((l) => l.level === 'warn')
      expect(warns).toHaveLength(1)
      expect(warns[0]?.fields).toMatchObject({
        mode: 'local',
        cause: expect.stringMatching(
          new RegExp(
            `^Failed to refresh slots cache\\..* Nodes: .*127\\.0\\.0\\.1:(${ports.join('|')})`,
          ),
        ),
      })
      expect(connection.mode).toBe('local')
    } finally {
      await connection.close()
    }
  })
})

// Private helpers below.

/** A pino-compatible logger recording each line with the bindings of its child. */
function recorder(
  lines: Array<{ level: string; message: string | undefined; fields: object }>,
  bindings: object = {},
): Logger {
  const at = (level: string) => (fields: object, message?: string) =>
    lines.push({ level, message, fields: { ...bindings, ...fields } })
  return {
    child: (more) => recorder(lines, { ...bindings, ...more }),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
  }
}
