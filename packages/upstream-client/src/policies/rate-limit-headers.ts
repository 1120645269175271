/**
 * @internal Reads an upstream's quota from its response headers:
 *
 * - the IETF draft (draft-ietf-httpapi-ratelimit-headers-08 and later): `RateLimit-Policy:
 *   "name";q=100;w=60` (quota `q` per window of `w` seconds) and `RateLimit: "name";r=42;t=7`
 *   (`r` units remaining, `t` seconds until the quota resets); with several policies listed,
 *   the most restrictive rate and the smallest remaining count win;
 * - the older de-facto `X-RateLimit-Limit` / `X-RateLimit-Remaining` / `X-RateLimit-Reset`
 *   (`Reset` in seconds from now, or an epoch time in seconds when larger than a year).
 */

/** @internal What the headers said; every field is optional. */
export interface LearnedQuota {
  /** Requests per second allowed by the policy (`q / w`, or `X-RateLimit-Limit` per window). */
  ratePerSecond?: number
  /** The policy's quota per window (`q`), a natural burst. */
  quota?: number
  /** Units remaining in the current window. */
  remaining?: number
  /** Milliseconds until the window resets. */
  resetMs?: number
}

type Headers = Readonly<Record<string, string | string[] | undefined>>

const YEAR_S = 365 * 24 * 3600

/** @internal Parses the quota headers of one response; `undefined` when none is present. */
export function parseQuotaHeaders(
  headers: Headers | undefined,
  nowMs: number,
): LearnedQuota | undefined {
  if (headers === undefined) return undefined
  const out: LearnedQuota = {}
  for (const item of listItems(headers['ratelimit-policy'])) {
    const q = param(item, 'q')
    const w = param(item, 'w') ?? 1
    if (q === undefined || w <= 0) continue
    const rate = q / w
    if (out.ratePerSecond === undefined || rate < out.ratePerSecond) {
      out.ratePerSecond = rate
      out.quota = q
    }
  }
  for (const item of listItems(headers.ratelimit)) {
    const r = param(item, 'r')
    if (r === undefined) continue
    if (out.remaining === undefined || r < out.remaining) {
      out.remaining = r
      const t = param(item, 't')
      if (t !== undefined) out.resetMs = t * 1000
    }
  }
  if (out.remaining === undefined) {
    const limit = number(first(headers['x-ratelimit-limit']))
    const remaining = number(first(headers['x-ratelimit-remaining']))
    const reset = number(first(headers['x-ratelimit-reset']))
    if (remaining !== undefined) out.remaining = remaining
    if (reset !== undefined) {
      out.resetMs = Math.max(0, reset > YEAR_S ? reset * 1000 - nowMs : reset * 1000)
    }
    if (limit !== undefined && out.quota === undefined) out.quota = limit
  }
  return Object.keys(out).length === 0 ? undefined : out
}

/** Private: the members of a structured-field list, split on commas outside quotes. */
function listItems(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const text = Array.isArray(value) ? value.join(',') : value
  const items: string[] = []
  let quoted = false
  let start = 0
  for (let i = 0; i < text.length; i++) {
    const c = text[i]
    if (c === '"') quoted = !quoted
    else if (c === ',' && !quoted) {
      items.push(text.slice(start, i))
      start = i + 1
    }
  }
  items.push(text.slice(start))
  return items.map((s) => s.trim()).filter((s) => s.length > 0)
}

/** Private: the non-negative integer parameter `name` of one list member (`;name=12`). */
function param(item: string, name: string): number | undefined {
  for (const part of item.split(';').slice(1)) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return number(part.slice(eq + 1))
  }
  return undefined
}

/** Private: a finite non-negative decimal, or undefined. */
function number(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const text = value.trim()
  if (!/^\d+(\.\d+)?$/.test(text)) return undefined
  return Number(text)
}

/** Private: the first value of a header that may repeat. */
function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}
