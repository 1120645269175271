import { describe, expect, it } from 'vitest'
import { type BodyTooLargeError, createUpstreamClient, isUpstreamErrorCode } from '../src/index.js'
import { closeAfterEach, startServer } from './helpers.js'

const open = closeAfterEach()

describe('response bodies', () => {
  it('stops reading an endless body at maxBodyBytes', async () => {
    let written = 0
    open.server = await startServer((_req, res) => {
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
    open.client = createUpstreamClient({
      baseUrl: open.server.origin,
      maxBodyBytes: 64 * 1024,
      retry: false,
    })
    const error = (await open.client.get('/endless').catch((e: unknown) => e)) as BodyTooLargeError
    expect(isUpstreamErrorCode(error, 'UPSTREAM_BODY_TOO_LARGE')).toBe(true)
    expect(error.limitBytes).toBe(64 * 1024)
    expect(error.status).toBe(200)
    expect(written).toBeGreaterThan(64 * 1024)
  })

  it('rejects a declared content-length above the limit before reading', async () => {
    open.server = await startServer((_req, res) => {
      const body = JSON.stringify({ pad: 'x'.repeat(2_000) })
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) })
      res.end(body)
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, maxBodyBytes: 1_000 })
    await expect(open.client.get('/big')).rejects.toMatchObject({ code: 'UPSTREAM_BODY_TOO_LARGE' })
    expect(open.server.requests).toBe(1) // not retried
  })

  it('turns malformed JSON into InvalidBodyError', async () => {
    open.server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end('{"id": "1",')
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin })
    const error = await open.client.get('/bad').catch((e: unknown) => e)
    expect(isUpstreamErrorCode(error, 'UPSTREAM_INVALID_BODY')).toBe(true)
    expect((error as Error).cause).toBeInstanceOf(SyntaxError)
    expect((error as Error).message).toBe(
      `GET ${open.server.origin}/bad: response body is not valid JSON (1 attempt)`,
    )
    expect(open.server.requests).toBe(1)
  })

  it('resolves undefined for an empty 204 and keeps text bodies of errors', async () => {
    open.server = await startServer((req, res) => {
      if (req.url === '/none') return void res.writeHead(204).end()
      res.writeHead(502, { 'content-type': 'text/plain' })
      res.end('upstream exploded')
    })
    open.client = createUpstreamClient({ baseUrl: open.server.origin, retry: false })
    await expect(open.client.delete('/none')).resolves.toBeUndefined()
    await expect(open.client.get('/err')).rejects.toMatchObject({
      status: 502,
      body: 'upstream exploded',
    })
  })
})
