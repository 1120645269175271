/** One timed HTTP exchange, as the demo's caller sees it. */
export interface Exchange<T = unknown> {
  status: number
  headers: Headers
  body: T
  /** Wall time from sending to the full body, in ms. */
  ms: number
}

/**
 * Sends one JSON request with the global `fetch` (a plain client, like the service's real
 * callers) and times it to the last byte.
 */
export async function send<T = unknown>(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Exchange<T>> {
  const started = performance.now()
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] = 'application/json'
  }
  const res = await fetch(url, init)
  const text = await res.text()
  const ms = performance.now() - started
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // Not JSON (e.g. /metrics); keep the text.
  }
  return { status: res.status, headers: res.headers, body: parsed as T, ms }
}

/** Resolves after `ms`; the demo's callers wait out `Retry-After` with it. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Runs `worker` over `items` with at most `concurrency` in flight (a sliding window). */
export async function forEachLimited<T>(
  items: readonly T[],
  concurrency: number,
  worker: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0
  const lanes = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      await worker(items[index] as T, index)
    }
  })
  await Promise.all(lanes)
}
