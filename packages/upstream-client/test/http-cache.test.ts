import type http from 'node:http'
import { describe, expect, it } from 'vitest'
import { type CallOutcome, createUpstreamClient, type UpstreamClient } from '../src/index.js'
import { closeAfterEach, type Handler, json, startServer, TestClock } from './helpers.js'

// The GET cache follows the upstream's caching headers (RFC 9111). Each test talks to a real
// node:http server on 127.0.0.1 and moves an injected clock; it asserts what the server saw.

const open = closeAfterEach()

/** Starts `handler` and a client with `cache` on a manual clock. */
async function setup(
  handler: Handler,
  cache: { ttlMs: number; staleIfError?: boolean; honorHeaders?: boolean } = { ttlMs: 10_000 },
): Promise<{ client: UpstreamClient; clock: TestClock; outcomes: CallOutcome[] }> {
  const clock = new TestClock()
  open.server = await startServer(handler)
  const client = createUpstreamClient({
    baseUrl: open.server.origin,
    clock,
    cache,
    retry: false,
    breaker: false,
  })
  open.client = client
  const outcomes: CallOutcome[] = []
  client.onCallEnd((event) => outcomes.push(event.outcome))
  return { client, clock, outcomes }
}

/** A handler answering `{ n }` with `headers`. */
const answer =
  (headers: Record<string, string>): Handler =>
  (_req, res, n) =>
    json(res, 200, { n }, headers)

/** Answers 304 to a request whose validator matches, else `{ n }` with the validators. */
function conditional(validators: { etag?: string; lastModified?: string }, cc: string): Handler {
  return (req: http.IncomingMessage, res: http.ServerResponse, n: number) => {
    const matches =
      (validators.etag !== undefined && req.headers['if-none-match'] === validators.etag) ||
      (validators.lastModified !== undefined &&
        req.headers['if-modified-since'] === validators.lastModified)
    const headers: Record<string, string> = { 'cache-control': cc }
    if (validators.etag !== undefined) headers.etag = validators.etag
    if (validators.lastModified !== undefined) headers['last-modified'] = validators.lastModified
    if (matches) {
      res.writeHead(304, headers)
      res.end()
      return
    }
    json(res, 200, { n }, headers)
  }
}

describe('HTTP caching headers', () => {
  it('does not store a no-store answer, and says why', async () => {
    const { client } = await setup(answer({ 'cache-control': 'no-store' }))
    const reasons: string[] = []
    client.onCacheNotStored((e) => reasons.push(e.reason))
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(await client.get('/x')).toEqual({ n: 2 })
    expect(open.server?.requests).toBe(2)
    expect(reasons).toEqual(['no-store', 'no-store'])
  })

  it('does not store a private answer (the cache is shared by every caller)', async () => {
    const { client } = await setup(answer({ 'cache-control': 'private, max-age=60' }))
    await client.get('/x')
    expect(await client.get('/x')).toEqual({ n: 2 })
    expect(open.server?.requests).toBe(2)
  })

  it('revalidates a no-cache answer before each use', async () => {
    const { client, outcomes } = await setup(conditional({ etag: '"a"' }, 'no-cache'))
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(open.server?.requests).toBe(3)
    expect(open.server?.log.map((r) => r.headers['if-none-match'])).toEqual([
      undefined,
      '"a"',
      '"a"',
    ])
    expect(outcomes).toEqual(['upstream', 'revalidated', 'revalidated'])
  })

  it('expires an answer after a max-age shorter than ttlMs', async () => {
    const { client, clock } = await setup(answer({ 'cache-control': 'max-age=1' }))
    await client.get('/x')
    clock.advance(999)
    expect(await client.get('/x')).toEqual({ n: 1 })
    clock.advance(2)
    expect(await client.get('/x')).toEqual({ n: 2 })
    expect(open.server?.requests).toBe(2)
  })

  it('caps a max-age longer than ttlMs at ttlMs', async () => {
    const { client, clock } = await setup(answer({ 'cache-control': 'max-age=3600' }), {
      ttlMs: 1_000,
    })
    await client.get('/x')
    clock.advance(999)
    expect(await client.get('/x')).toEqual({ n: 1 })
    clock.advance(2)
    expect(await client.get('/x')).toEqual({ n: 2 })
  })

  it('prefers s-maxage to max-age (a shared cache)', async () => {
    const { client, clock } = await setup(answer({ 'cache-control': 'max-age=60, s-maxage=2' }))
    await client.get('/x')
    clock.advance(1_999)
    expect(await client.get('/x')).toEqual({ n: 1 })
    clock.advance(2)
    expect(await client.get('/x')).toEqual({ n: 2 })
  })

  it('takes the lifetime from Expires minus Date, minus Age', async () => {
    const date = new Date(Math.floor(Date.now() / 1000) * 1000)
    const { client, clock } = await setup(
      answer({
        date: date.toUTCString(),
        expires: new Date(date.getTime() + 10_000).toUTCString(),
        age: '4',
      }),
    )
    await client.get('/x')
    clock.advance(5_999)
    expect(await client.get('/x')).toEqual({ n: 1 })
    clock.advance(2)
    expect(await client.get('/x')).toEqual({ n: 2 })
  })

  it('revalidates an expired entry with If-None-Match; a 304 serves the stored value', async () => {
    const { client, clock, outcomes } = await setup(conditional({ etag: '"v1"' }, 'max-age=1'))
    const bytes: number[] = []
    client.onResponse((e) => bytes.push(Number(e.headers['content-length'] ?? 0)))
    await client.get('/x')
    clock.advance(1_001)
    expect(await client.get('/x')).toEqual({ n: 1 })
    // The 304 refreshed the lifetime: no request within the next second.
    clock.advance(999)
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(open.server?.requests).toBe(2)
    expect(open.server?.log[1]?.headers['if-none-match']).toBe('"v1"')
    expect(bytes[0]).toBeGreaterThan(0)
    expect(bytes[1]).toBe(0)
    expect(outcomes).toEqual(['upstream', 'revalidated', 'cache'])
  })

  it('keeps an expired entry with validators long past ttlMs (until the LRU evicts it)', async () => {
    const { client, clock, outcomes } = await setup(conditional({ etag: '"v1"' }, 'max-age=1'))
    await client.get('/x')
    // A day later, far past its freshness and ttlMs: still revalidated, not refetched.
    clock.advance(24 * 3_600_000)
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(open.server?.log[1]?.headers['if-none-match']).toBe('"v1"')
    expect(outcomes).toEqual(['upstream', 'revalidated'])
  })

  it('revalidates with If-Modified-Since from Last-Modified', async () => {
    const lastModified = 'Tue, 01 Dec 2026 10:00:00 GMT'
    const { client, clock, outcomes } = await setup(conditional({ lastModified }, 'max-age=1'))
    await client.get('/x')
    clock.advance(1_001)
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(open.server?.log[1]?.headers['if-modified-since']).toBe(lastModified)
    expect(outcomes).toEqual(['upstream', 'revalidated'])
  })

  it('keys by the headers named in Vary, and only those', async () => {
    const { client } = await setup((req, res, n) =>
      json(res, 200, { n, lang: req.headers['accept-language'] }, { vary: 'accept-language' }),
    )
    const get = (lang: string, trace: string) =>
      client.get('/x', { headers: { 'accept-language': lang, 'x-trace': trace } })
    expect(await get('en', 'a')).toEqual({ n: 1, lang: 'en' })
    expect(await get('en', 'b')).toEqual({ n: 1, lang: 'en' })
    expect(await get('fr', 'c')).toEqual({ n: 2, lang: 'fr' })
    expect(await get('fr', 'd')).toEqual({ n: 2, lang: 'fr' })
    expect(await get('en', 'e')).toEqual({ n: 1, lang: 'en' })
    expect(open.server?.requests).toBe(2)
  })

  it('does not store an answer with Vary: *', async () => {
    const { client } = await setup(answer({ vary: '*' }))
    await client.get('/x')
    expect(await client.get('/x')).toEqual({ n: 2 })
  })

  it('serves stale within stale-while-revalidate at once, with one background request', async () => {
    let release: (() => void) | undefined
    const { client, clock, outcomes } = await setup((_req, res, n) => {
      const send = () =>
        json(res, 200, { n }, { 'cache-control': 'max-age=1, stale-while-revalidate=10' })
      if (n === 1) send()
      else release = send
    })
    await client.get('/x')
    clock.advance(1_500)
    const stale = await Promise.all([client.get('/x'), client.get('/x'), client.get('/x')])
    expect(stale).toEqual([{ n: 1 }, { n: 1 }, { n: 1 }])
    await until(() => release !== undefined)
    expect(open.server?.requests).toBe(2)
    release?.()
    await until(async () => JSON.stringify(await client.get('/x')) === '{"n":2}')
    expect(open.server?.requests).toBe(2)
    expect(outcomes.slice(0, 4)).toEqual(['upstream', 'stale', 'stale', 'stale'])
  })

  it('never serves a must-revalidate answer stale, even with staleIfError', async () => {
    const { client, clock } = await setup(
      (_req, res, n) =>
        n === 1
          ? json(res, 200, { n }, { 'cache-control': 'max-age=1, must-revalidate' })
          : json(res, 503, { error: 'down' }),
      { ttlMs: 10_000, staleIfError: true },
    )
    await client.get('/x')
    clock.advance(1_001)
    await expect(client.get('/x')).rejects.toMatchObject({ status: 503 })
  })

  it('serves stale on error within the answer stale-if-error window only', async () => {
    const { client, clock } = await setup((_req, res, n) =>
      n === 1
        ? json(res, 200, { n }, { 'cache-control': 'max-age=1, stale-if-error=5' })
        : json(res, 503, { error: 'down' }),
    )
    await client.get('/x')
    clock.advance(1_001)
    expect(await client.get('/x')).toEqual({ n: 1 })
    clock.advance(5_000)
    await expect(client.get('/x')).rejects.toMatchObject({ status: 503 })
  })

  it('ignores the headers with honorHeaders: false', async () => {
    const { client } = await setup(answer({ 'cache-control': 'no-store', vary: '*' }), {
      ttlMs: 10_000,
      honorHeaders: false,
    })
    await client.get('/x')
    expect(await client.get('/x')).toEqual({ n: 1 })
    expect(open.server?.requests).toBe(1)
  })

  it('tells a caller with onHeaders whether the answer may be stored', async () => {
    const { client } = await setup((_req, res, n) =>
      json(res, 200, { n }, n === 1 ? { 'cache-control': 'private' } : {}),
    )
    const seen: boolean[] = []
    const onHeaders = (info: { cacheable: boolean }) => seen.push(info.cacheable)
    await client.get('/x', { cache: false, onHeaders })
    await client.get('/x', { cache: false, onHeaders })
    expect(seen).toEqual([false, true])
    await expect(client.get('/x', { onHeaders: 1 as never })).rejects.toThrow(
      'Expected `onHeaders` to be a function, got 1',
    )
  })

  it("gives coalesced followers the leader's response headers in onHeaders", async () => {
    const held: Array<() => void> = []
    const { client, outcomes } = await setup((_req, res, n) => {
      held.push(() => json(res, 200, { n }, { 'cache-control': 'no-store', etag: '"x"' }))
    })
    const seen: Array<{ cacheable: boolean; etag: unknown }> = []
    const onHeaders = (info: { cacheable: boolean; headers: Record<string, unknown> }) =>
      seen.push({ cacheable: info.cacheable, etag: info.headers.etag })
    const calls = [client.get('/x', { onHeaders }), client.get('/x', { onHeaders })]
    await until(() => held.length === 1)
    for (const release of held) release()
    await Promise.all(calls)
    expect(open.server?.requests).toBe(1)
    expect(outcomes.sort()).toEqual(['coalesced', 'upstream'])
    expect(seen).toEqual([
      { cacheable: false, etag: '"x"' },
      { cacheable: false, etag: '"x"' },
    ])
  })

  it("leaves a caller's own conditional request a 304 error", async () => {
    const { client } = await setup(conditional({ etag: '"a"' }, 'max-age=60'))
    await expect(
      client.get('/x', { cache: false, headers: { 'if-none-match': '"a"' } }),
    ).rejects.toMatchObject({ status: 304 })
  })

  it('validates honorHeaders', () => {
    expect(() =>
      createUpstreamClient({
        baseUrl: 'http://127.0.0.1:1',
        cache: { ttlMs: 1, honorHeaders: 'yes' as unknown as boolean },
      }),
    ).toThrow('Expected `cache.honorHeaders` to be a boolean, got "yes"')
  })
})

/** Private: polls `check` on real time (I/O, not the test clock) until it holds, 2 s at most. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  throw new Error('condition not met in 2 s')
}

describe('HTTP caching against the mock upstream', () => {
  it('revalidates with the mock: a 304 and the stored value', async () => {
    const { createMockUpstream } = await import('@userevents/mock-server')
    const mock = createMockUpstream({
      delays: 0,
      mode: 'healthy',
      cacheHeaders: { getEventById: { cacheControl: 'max-age=1', etag: true } },
    })
    const server = await mock.listen()
    const clock = new TestClock()
    const client = createUpstreamClient({ baseUrl: server.url, clock, cache: { ttlMs: 10_000 } })
    const outcomes: CallOutcome[] = []
    client.onCallEnd((e) => outcomes.push(e.outcome))
    try {
      const first = await client.get('/getEventById/1')
      clock.advance(1_001)
      expect(await client.get('/getEventById/1')).toEqual(first)
      expect(outcomes).toEqual(['upstream', 'revalidated'])
      expect(mock.calls('getEventById')).toBe(2)
      expect(mock.requests().at(-1)?.headers['if-none-match']).toMatch(/^"/)
    } finally {
      await client.close()
      await server.close()
    }
  })
})
