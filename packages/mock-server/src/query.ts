import type { Event } from './types.js'

/** The event fields a client may project, sort or filter on. */
export const EVENT_FIELDS = ['id', 'name', 'userId', 'details'] as const
type EventField = (typeof EVENT_FIELDS)[number]

/** Upper bound of `limit=`. */
export const MAX_LIMIT = 1000

/** A parsed, validated list query for `/getEvents` and `/getEventsByIds`. */
export interface ListQuery {
  fields?: EventField[]
  sort: { field: EventField; descending: boolean }[]
  limit?: number
  offset: number
  userId?: string
}

/** The outcome of parsing: a query, or the message of a `400` answer. */
export type ParseResult = { ok: true; query: ListQuery } | { ok: false; message: string }

/**
 * Parses `fields=`, `sort=`, `limit=`, `offset=` and `userId=` from a URL. Unknown parameters are
 * ignored (cache busters must not break requests); a known parameter with a bad value is an error.
 */
export function parseListQuery(params: URLSearchParams): ParseResult {
  const query: ListQuery = { sort: [], offset: 0 }
  const fields = params.get('fields')
  if (fields !== null) {
    const list = splitList(fields)
    const bad = list.find((f) => !isField(f))
    if (list.length === 0 || bad !== undefined) {
      return fail('fields', fields, `a comma-separated list of ${EVENT_FIELDS.join(', ')}`)
    }
    query.fields = list as EventField[]
  }
  const sort = params.get('sort')
  if (sort !== null) {
    const keys = splitList(sort)
    if (keys.length === 0) return fail('sort', sort, 'a field name, optionally prefixed with -')
    for (const key of keys) {
      const descending = key.startsWith('-')
      const field = descending ? key.slice(1) : key
      if (!isField(field)) {
        return fail(
          'sort',
          sort,
          `fields among ${EVENT_FIELDS.join(', ')}, optionally prefixed with -`,
        )
      }
      query.sort.push({ field, descending })
    }
  }
  const limit = params.get('limit')
  if (limit !== null) {
    const n = parseInteger(limit)
    if (n === undefined || n < 1 || n > MAX_LIMIT) {
      return fail('limit', limit, `an integer from 1 to ${MAX_LIMIT}`)
    }
    query.limit = n
  }
  const offset = params.get('offset')
  if (offset !== null) {
    const n = parseInteger(offset)
    if (n === undefined || n < 0) return fail('offset', offset, 'a non-negative integer')
    query.offset = n
  }
  const userId = params.get('userId')
  if (userId !== null) {
    if (userId === '') return fail('userId', userId, 'a non-empty user id')
    query.userId = userId
  }
  return { ok: true, query }
}

/**
 * Applies a parsed query: filter, then sort (stable, numeric-aware), then page, then project.
 * Returns the page and the number of items before paging (served as `X-Total-Count`).
 */
export function applyListQuery(
  events: Iterable<Event>,
  query: ListQuery,
): { items: Partial<Event>[]; total: number } {
  let list = [...events]
  if (query.userId !== undefined) list = list.filter((e) => e.userId === query.userId)
  if (query.sort.length > 0) {
    list.sort((a, b) => {
      for (const { field, descending } of query.sort) {
        const c = collator.compare(a[field] ?? '', b[field] ?? '')
        if (c !== 0) return descending ? -c : c
      }
      return 0
    })
  }
  const total = list.length
  const end = query.limit === undefined ? undefined : query.offset + query.limit
  const page = list.slice(query.offset, end)
  const fields = query.fields
  if (!fields) return { items: page.map((e) => ({ ...e })), total }
  // `id` is always kept: a projection without ids could not be matched back to requests.
  const keep = new Set<EventField>(['id', ...fields])
  const items = page.map((e) => {
    const out: Partial<Event> = {}
    for (const f of keep) if (e[f] !== undefined) out[f] = e[f]
    return out
  })
  return { items, total }
}

// Numeric-aware so that ids "2" < "10", like the integers they look like.
const collator = new Intl.Collator('en', { numeric: true })

/** Private helpers. */
function splitList(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
}
function isField(value: string): value is EventField {
  return (EVENT_FIELDS as readonly string[]).includes(value)
}
function parseInteger(value: string): number | undefined {
  if (!/^\d{1,9}$/.test(value)) return undefined
  return Number(value)
}
function fail(name: string, value: string, expected: string): ParseResult {
  return {
    ok: false,
    message: `Expected \`${name}\` to be ${expected}, got ${JSON.stringify(value)}`,
  }
}
