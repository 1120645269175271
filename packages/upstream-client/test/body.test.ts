import { afterEach, describe, expect, it } from 'vitest'
import {
  type BodyTooLargeError,
  createUpstreamClient,
  isUpstreamErrorCode,
  type UpstreamClient,
} from '../src/index.js'
import { startServer, type TestServer } from './helpers.js'

let server: TestServer | undefined
let client: UpstreamClient | undefined
afterEach(async () => {
  await server?.close()
  await client?.close()
  client = undefined
  server = undefined
})

describe('response bodies', () => {
  it('stops reading an endless body at maxBodyBytes', async () => {
    let written = 0
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }) // chunked, no length
      const chunk = Buffer.alloc(16 * 1024, 'a')
      const pump = () => {
        // Keeps writing until the client aborts; a client that buffered would never finish.
        while (!res.destroyed) {
          written += chunk.length
          if (!res.write(chunk)) break
        }
        if (!res.destroyed) res.once('drain', pump)
      }
      res.on('close', () => res.removeAllListeners('drain'))
      pump()
    })
    client = createUpstreamClient({ baseUrl: server.origin, maxBodyBytes: 64 * 1024, retry: false })
    const error = (await client.get('/endless').catch((e: unknown) => e)) as BodyTooLargeError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_BODY_TOO_LARGE')).toBe(true)
    expect(error.limitBytes).toBe(64 * 1024)
    expect(error.status).toBe(200)
    expect(written).toBeGreaterThan(64 * 1024)
  })

  it('rejects a declared content-length above the limit before reading', async () => {
    server = await startServer((_req, res) => {
      const body = JSON.stringify({ pad: 'x'.repeat(2_000) })
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    client = createUpstreamClient({ baseUrl: server.origin, maxBodyBytes: 1_000 })
    await expect(client.get('/big')).rejects.toMatchObject({ code: 'UPSTREAM_BODY_TOO_LARGE' })
    expect(server.requests).toBe(1) // not retried
  })

  it('turns malformed JSON into InvalidBodyError', async () => {
    server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"id": "1",')
    })
    client = createUpstreamClient({ baseUrl: server.origin })
    const error = await client.get('/bad').catch((e: unknown) => e)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_BODY')).toBe(true)
    expect((error as Error).cause).toBeInstanceOf(SyntaxError)
    expect((error as Error).message).toBe(
      `GET ${server.origin}/bad: response body is not valid JSON (1 attempt)`,
    )
    expect(server.requests).toBe(1)
  })

  it('resolves undefined for an empty 204 and keeps text bodies of errors', async () => {
    server = await startServer((req, res) => {
      if (req.url === '/none') return void res.writeHead(204).end()
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end('upstream exploded')
    })
    client = createUpstreamClient({ baseUrl: server.origin, retry: false })
    await expect(client.delete('/none')).resolves.toBeUndefined()
    await expect(client.get('/err')).rejects.toMatchObject({
      status: 502,
      body: 'upstream exploded',
    })
  })
})
