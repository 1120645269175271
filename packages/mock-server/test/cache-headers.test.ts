import { afterEach, describe, expect, it } from 'vitest'
import { createMockUpstream, type MockServerHandle } from '../src/index.js'

// The mock's per-route caching headers and 304 answers, over a real port (listen()) and msw.

let handle: MockServerHandle | undefined
afterEach(async () => {
  await handle?.close()
  handle = undefined
})

const fast = { delays: 0, mode: 'healthy' as const }

describe('cacheHeaders', () => {
  it('sends no caching headers by default, like the original upstream', async () => {
    handle = await createMockUpstream(fast).listen()
    const res = await fetch(`${handle.url}/getEventById/1`)
    expect(res.headers.get('cache-control')).toBeNull()
    expect(res.headers.get('etag')).toBeNull()
  })

  it('sends Cache-Control, ETag and Vary, and answers If-None-Match with a bodyless 304', async () => {
    const mock = createMockUpstream({
      ...fast,
      cacheHeaders: {
        getEventById: { cacheControl: 'max-age=5', etag: true, vary: 'accept-language' },
      },
    })
    handle = await mock.listen()
    const first = await fetch(`${handle.url}/getEventById/1`)
    const etag = first.headers.get('etag')
    expect(first.status).toBe(200)
    expect(first.headers.get('cache-control')).toBe('max-age=5')
    expect(first.headers.get('vary')).toBe('accept-language')
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/)
    const again = await fetch(`${handle.url}/getEventById/1`, {
      headers: { 'if-none-match': etag as string },
    })
    expect(again.status).toBe(304)
    expect(await again.text()).toBe('')
    expect(again.headers.get('etag')).toBe(etag)
    const other = await fetch(`${handle.url}/getEventById/2`, {
      headers: { 'if-none-match': etag as string },
    })
    expect(other.status).toBe(200)
    // Routes without settings are untouched.
    expect((await fetch(`${handle.url}/getUsers`)).headers.get('cache-control')).toBeNull()
  })

  it('answers If-Modified-Since from Last-Modified', async () => {
    const lastModified = 'Tue, 01 Dec 2026 10:00:00 GMT'
    handle = await createMockUpstream({
      ...fast,
      cacheHeaders: { getUsers: { lastModified } },
    }).listen()
    const same = await fetch(`${handle.url}/getUsers`, {
      headers: { 'if-modified-since': lastModified },
    })
    expect(same.status).toBe(304)
    const older = await fetch(`${handle.url}/getUsers`, {
      headers: { 'if-modified-since': 'Mon, 30 Nov 2026 10:00:00 GMT' },
    })
    expect(older.status).toBe(200)
    expect(older.headers.get('last-modified')).toBe(lastModified)
  })

  it('changes them at run time through the admin endpoint and setCacheHeaders', async () => {
    const mock = createMockUpstream(fast)
    handle = await mock.listen()
    const set = await fetch(`${handle.url}/__admin/cache-headers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ getUsers: { cacheControl: 'no-store' } }),
    })
    expect(await set.json()).toEqual({ getUsers: { cacheControl: 'no-store' } })
    expect((await fetch(`${handle.url}/getUsers`)).headers.get('cache-control')).toBe('no-store')
    const bad = await fetch(`${handle.url}/__admin/cache-headers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ getUser: {} }),
    })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { message: string }).message).toContain(
      'Unknown option `cacheHeaders.getUser`',
    )
    mock.setCacheHeaders({})
    expect((await fetch(`${handle.url}/getUsers`)).headers.get('cache-control')).toBeNull()
  })

  it('rejects a bad option, quoting it', () => {
    expect(() =>
      createMockUpstream({ cacheHeaders: { getUsers: { etag: 'yes' as unknown as boolean } } }),
    ).toThrow('Expected `cacheHeaders.getUsers.etag` to be a boolean, got "yes"')
  })
})
