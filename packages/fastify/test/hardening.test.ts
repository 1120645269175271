import { request as httpRequest } from 'node:http'
import { Writable } from 'node:stream'
import {
  createMockUpstream,
  type MockServerHandle,
  type MockUpstream,
} from '@userevents/mock-server'
import Fastify, { type FastifyServerOptions, LogController } from 'fastify'
import { pino } from 'pino'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { frameworkErrorHandler, InvalidPluginOptionError, userEvents } from '../src/index.js'

let mock: MockUpstream
let server: MockServerHandle
const cleanups: (() => Promise<unknown>)[] = []

beforeEach(async () => {
  mock = createMockUpstream({ mode: 'healthy', delays: 0, networkErrorRate: 0 })
  server = await mock.listen({ host: '127.0.0.1', port: 0 })
  cleanups.push(() => server.close())
})
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

/** A pino logger whose lines land in `lines`, parsed. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = []
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line))
      callback()
    },
  })
  return { logger: pino({ level: 'info' }, sink), lines }
}

/** GET `path` on a real port, raw (a fetch would normalise the path first). */
function rawGet(base: string, path: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = httpRequest(`${base}${path}`, (res) => {
        let body = ''
        res.on('data', (c) => {
          body += c
        })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
      })
      req.on('error', reject)
      req.end()
    },
  )
}

describe('frameworkErrorHandler (errors Fastify raises before routing)', () => {
  async function service(options: FastifyServerOptions) {
    const app = Fastify({ ...options, genReqId: () => 'req-7' })
    cleanups.push(() => app.close())
    await app.register(userEvents, { client: { baseUrl: server.url, retry: false } })
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id)
    })
    app.get('/users/:id/events', async () => [])
    return app.listen({ host: '127.0.0.1', port: 0 })
  }

  it('answers a bad URL and an over-long parameter with the request id and the error body', async () => {
    const base = await service({ frameworkErrors: frameworkErrorHandler() })
    const badUrl = await rawGet(base, '/users/%/events')
    expect(badUrl.status).toBe(400)
    expect(badUrl.headers['x-request-id']).toBe('req-7')
    expect(JSON.parse(badUrl.body)).toEqual({
      error: 'Bad Request',
      message: "'/users/%/events' is not a valid url component",
      code: 'FST_ERR_BAD_URL',
    })
    const long = await rawGet(base, `/users/${'1'.repeat(101)}/events`)
    expect(long.status).toBe(414)
    expect(long.headers['x-request-id']).toBe('req-7')
    expect(JSON.parse(long.body)).toMatchObject({
      error: 'URI Too Long',
      code: 'FST_ERR_MAX_PARAM_LENGTH',
    })
    expect(JSON.parse(long.body)).not.toHaveProperty('statusCode')
  })

  it('answers problem+json when asked, and can leave the request id header out', async () => {
    const base = await service({
      frameworkErrors: frameworkErrorHandler({ format: 'problem+json', requestIdHeader: false }),
    })
    const res = await rawGet(base, '/users/%zz/events')
    expect(res.status).toBe(400)
    expect(res.headers['content-type']).toBe('application/problem+json; charset=utf-8')
    expect(JSON.parse(res.body)).toMatchObject({ status: 400, code: 'FST_ERR_BAD_URL' })
  })

  it('validates its options, naming the bad one', () => {
    expect(() => frameworkErrorHandler({ requestIdHeader: 'x id' })).toThrow(
      new InvalidPluginOptionError('requestIdHeader', 'a header name or false', 'x id'),
    )
    expect(() => frameworkErrorHandler({ format: 'xml' as 'json' })).toThrow(
      /Expected `format` to be 'json' or 'problem\+json', got "xml"/,
    )
  })
})

describe('logging of expected, fast rejections', () => {
  async function outage(errorHandler: Record<string, unknown>) {
    const { logger, lines } = recordingLogger()
    const app = Fastify({
      loggerInstance: logger,
      logController: new LogController({ disableRequestLogging: true }),
    })
    cleanups.push(() => app.close())
    await app.register(userEvents, {
      client: {
        baseUrl: server.url,
        retry: false,
        breaker: { failureThreshold: 1, resetTimeoutMs: 60_000 },
      },
      errorHandler,
    })
    app.get('/users', async (_request, reply) =>
      app.upstream.get('/getUsers', reply.upstreamContext()),
    )
    mock.setMode('down')
    return { app, lines }
  }

  it('logs the first rejection of a code at once, then one count per interval', async () => {
    const { app, lines } = await outage({ rejectionLogIntervalMs: 25 })
    for (let i = 0; i < 200; i++) {
      const res = await app.inject({ method: 'GET', url: '/users' })
      expect(res.statusCode).toBe(503)
    }
    const failed = () => lines.filter((l) => String(l.msg).startsWith('request failed'))
    // The upstream's own 503 (the one that opened the circuit), then the first fast rejection.
    expect(failed().map((l) => l.code)).toEqual(['UPSTREAM_HTTP_STATUS', 'UPSTREAM_CIRCUIT_OPEN'])
    const counted = () =>
      lines.filter((l) => l.msg === 'requests failed with this code in the last interval')
    await vi.waitFor(() => expect(counted().length).toBeGreaterThan(0), { interval: 5 })
    expect(counted()[0]).toMatchObject({ code: 'UPSTREAM_CIRCUIT_OPEN', count: 198, level: 40 })
    expect(lines.some((l) => 'err' in l)).toBe(false)
  })

  it('logs every one with rejectionLogIntervalMs: 0, and flushes pending counts on close', async () => {
    const every = await outage({ rejectionLogIntervalMs: 0 })
    for (let i = 0; i < 5; i++) await every.app.inject({ method: 'GET', url: '/users' })
    expect(every.lines.filter((l) => l.msg === 'request failed')).toHaveLength(5)

    const counted = await outage({ rejectionLogIntervalMs: 60_000 })
    for (let i = 0; i < 5; i++) await counted.app.inject({ method: 'GET', url: '/users' })
    await counted.app.close()
    expect(
      counted.lines.filter((l) => l.msg === 'requests failed with this code in the last interval'),
    ).toEqual([expect.objectContaining({ code: 'UPSTREAM_CIRCUIT_OPEN', count: 3 })])
  })

  it('rejects a bad interval at registration', async () => {
    const app = Fastify()
    cleanups.push(() => app.close())
    await expect(
      app.register(userEvents, {
        client: { baseUrl: server.url },
        errorHandler: { rejectionLogIntervalMs: -1 },
      }),
    ).rejects.toThrow(/Expected `errorHandler.rejectionLogIntervalMs` to be an integer/)
  })
})
