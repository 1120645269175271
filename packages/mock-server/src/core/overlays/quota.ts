import { checks } from '../../checks.js'
import type { MockClock } from '../../clock.js'
import { badRequest, type CoreAnswer, json } from '../exchange.js'
import type { CoreRoute } from '../route.js'

/**
 * The quota overlay: the upstream limits its callers like a real API does. A token bucket of
 * `limit` requests per `windowSeconds` (full at the start, refilled continuously) is taken from by
 * every data request; over it the mock answers `429 Too Many Requests` with `Retry-After`, and
 * every data answer (429 or not) carries the quota headers: the IETF draft's
 * `RateLimit-Policy: "default";q=<limit>;w=<window>` and `RateLimit: "default";r=<left>;t=<s>`,
 * and the older `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` (seconds).
 * It applies on top of any mode.
 */
export interface QuotaOptions {
  /** Requests allowed per window (the bucket's size too). */
  limit: number
  /** The window, in seconds. Default 1. */
  windowSeconds?: number
}

/** Internal: a validated quota. */
export interface ResolvedQuota {
  limit: number
  windowSeconds: number
}

/** Counts of the quota overlay since it was set (or its counters were reset). */
export interface QuotaStats {
  /** Requests let through. */
  admitted: number
  /** Requests answered 429. */
  limited: number
}

/**
 * Internal: validates a quota given as `'100/s'` (`/s`, `/min`, `/h`) or `{ limit,
 * windowSeconds }`; `undefined`, `null` and `false` mean no quota.
 */
export function resolveQuota(option: string, value: unknown): ResolvedQuota | undefined {
  if (value === undefined || value === null || value === false) return undefined
  if (typeof value === 'string') {
    const match = /^(\d+)\/(s|min|h)$/.exec(value.trim())
    if (match === null) checks.fail(option, "a rate like '100/s', '600/min' or '1000/h'", value)
    const windowSeconds = { s: 1, min: 60, h: 3600 }[(match as RegExpExecArray)[2] as 's']
    return resolveQuota(option, { limit: Number((match as RegExpExecArray)[1]), windowSeconds })
  }
  if (typeof value !== 'object') checks.fail(option, "a rate like '100/s' or an object", value)
  const o = value as QuotaOptions
  checks.rejectUnknown(`${option}.`, o, ['limit', 'windowSeconds'])
  return {
    limit: checks.positiveInteger(`${option}.limit`, o.limit, 0),
    windowSeconds: checks.positiveNumber(`${option}.windowSeconds`, o.windowSeconds, 1),
  }
}

/** Internal: the quota's bucket, one per mock instance; replaced when the quota is switched. */
export class QuotaBucket {
  readonly quota: ResolvedQuota
  readonly stats: QuotaStats = { admitted: 0, limited: 0 }
  readonly #now: () => number
  readonly #ratePerMs: number
  #tokens: number
  #updatedAt: number

  constructor(quota: ResolvedQuota, clock: MockClock) {
    this.quota = quota
    this.#now = () => (clock.now === undefined ? Date.now() : clock.now())
    this.#ratePerMs = quota.limit / (quota.windowSeconds * 1000)
    this.#tokens = quota.limit
    this.#updatedAt = this.#now()
  }

  /**
   * Takes a token for one request: the 429 answer when there is none, else `undefined`; either
   * way the headers to put on the answer.
   */
  take(): { refused: CoreAnswer | undefined; headers: Record<string, string> } {
    const now = this.#now()
    this.#tokens = Math.min(
      this.quota.limit,
      this.#tokens + (now - this.#updatedAt) * this.#ratePerMs,
    )
    this.#updatedAt = now
    const admitted = this.#tokens >= 1
    if (admitted) {
      this.#tokens -= 1
      this.stats.admitted++
    } else this.stats.limited++
    const headers = this.#headers()
    if (admitted) return { refused: undefined, headers }
    const retryAfter = Math.max(1, Math.ceil((1 - this.#tokens) / this.#ratePerMs / 1000))
    headers['Retry-After'] = String(retryAfter)
    const refused = json(
      { error: 'Too Many Requests', message: `Quota of ${this.#policyText()} exceeded` },
      headers,
      429,
    )
    return { refused, headers }
  }

  /** Private: the quota headers for the bucket as it is now. */
  #headers(): Record<string, string> {
    const { limit, windowSeconds } = this.quota
    const remaining = Math.max(0, Math.floor(this.#tokens))
    // Seconds until the bucket is full again: the draft's "until the quota resets".
    const reset = Math.ceil((limit - this.#tokens) / this.#ratePerMs / 1000)
    return {
      'RateLimit-Policy': `"default";q=${limit};w=${windowSeconds}`,
      RateLimit: `"default";r=${remaining};t=${reset}`,
      'X-RateLimit-Limit': String(limit),
      'X-RateLimit-Remaining': String(remaining),
      'X-RateLimit-Reset': String(reset),
    }
  }

  #policyText(): string {
    return `${this.quota.limit} per ${this.quota.windowSeconds}s`
  }
}

/**
 * Internal: the overlay's step around a data route: takes a token (a 429 over the quota, before
 * the mode's own behaviour), then adds the quota headers to whatever the route answered.
 */
export async function withQuota(
  bucket: QuotaBucket | undefined,
  serve: () => Promise<CoreAnswer>,
): Promise<CoreAnswer> {
  if (bucket === undefined) return serve()
  const { refused, headers } = bucket.take()
  if (refused !== undefined) return refused
  const answer = await serve()
  if (answer.kind !== 'json') return answer
  return { ...answer, headers: { ...answer.headers, ...headers } }
}

/**
 * Internal: `GET /__admin/quota` (the quota and its counts, `{ quota: null }` when off) and
 * `POST /__admin/quota` `{ "quota": "100/s" }` (or `null` to lift it; a `400` quoting a bad
 * value). Not counted, not recorded.
 */
export function quotaAdminRoutes(
  current: () => QuotaBucket | undefined,
  setQuota: (quota: unknown) => void,
): CoreRoute[] {
  const describe = () => {
    const bucket = current()
    return bucket === undefined ? { quota: null } : { quota: bucket.quota, ...bucket.stats }
  }
  return [
    { method: 'GET', path: '/__admin/quota', serve: async () => json(describe()) },
    {
      method: 'POST',
      path: '/__admin/quota',
      serve: async (request) => {
        const body = (await request.json()) as { quota?: unknown } | undefined
        try {
          setQuota(body?.quota)
          return json(describe())
        } catch (error) {
          return badRequest((error as Error).message)
        }
      },
    },
  ]
}
