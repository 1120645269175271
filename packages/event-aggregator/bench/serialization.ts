import fastJson from 'fast-json-stringify'
import { eventPageJsonSchema } from '../src/schemas.js'
import type { Event, EventField, EventPage } from '../src/types.js'

/** One measured way of turning a page into JSON. */
export interface SerializerResult {
  pageSize: number
  shape: string
  variant: string
  usPerOp: number
  /** usPerOp of `JSON.stringify` on the same (projected) page divided by this one. */
  vsJsonStringify: number
  /** usPerOp of `JSON.stringify` on the full, unprojected page divided by this one. */
  vsFullJsonStringify: number
}

/** Events shaped like the mock's generated data (`generateUserWithEvents`, 64-char details). */
export function makeEvents(n: number): Event[] {
  return Array.from({ length: n }, (_, i) => ({
    id: String(i + 1),
    name: `event-${i + 1}`,
    userId: '42',
    details: 'User purchased an item from the "spring" catalogue, paid by card.',
  }))
}

const project = (e: Event, fields: readonly EventField[]) => {
  const out: Record<string, unknown> = {}
  for (const f of fields) if (e[f] !== undefined) out[f] = e[f]
  return out
}

/**
 * Measures every variant in interleaved rounds (so a noisy neighbour hurts all variants alike)
 * and reports the median round. Includes fast-json-stringify with and without
 * `largeArrayMechanism: 'json-stringify'` (with `largeArraySize` lowered so it applies to these
 * page sizes; at the default size of 20,000 it would never kick in).
 */
export function measureSerialization(
  serializeShipped: (
    fields: readonly EventField[] | undefined,
  ) => (page: EventPage<unknown>) => string,
  options: { rounds?: number; budgetMs?: number } = {},
): SerializerResult[] {
  const rounds = options.rounds ?? 15
  const budgetMs = options.budgetMs ?? 3
  const shapes: { name: string; fields: readonly EventField[] | undefined }[] = [
    { name: 'projected id,name', fields: ['id', 'name'] },
    { name: 'projected id,name,userId', fields: ['id', 'name', 'userId'] },
    { name: 'all fields', fields: undefined },
  ]
  const results: SerializerResult[] = []
  for (const pageSize of [50, 500]) {
    const events = makeEvents(pageSize)
    const fullPage = { items: events, total: pageSize, limit: pageSize, offset: 0, missing: [] }
    for (const shape of shapes) {
      const fields = shape.fields ?? (['id', 'name', 'userId', 'details'] as const)
      const page = { ...fullPage, items: events.map((e) => project(e, fields)) }
      const schema = eventPageJsonSchema(shape.fields)
      const fjsDefault = fastJson(schema)
      const fjsLarge = fastJson(schema, {
        largeArrayMechanism: 'json-stringify',
        largeArraySize: 1,
      })
      const shipped = serializeShipped(shape.fields)
      const variants: Record<string, () => string> = {
        'JSON.stringify full page': () => JSON.stringify(fullPage),
        'JSON.stringify projected': () => JSON.stringify(page),
        'fjs projected (default arrays)': () => fjsDefault(page),
        'fjs projected (largeArrayMechanism json-stringify)': () => fjsLarge(page),
        'shipped createPageSerializer': () => shipped(page),
      }
      // Same output check: a faster serializer that writes something else is worthless.
      const expected = JSON.parse(JSON.stringify(page))
      for (const [name, fn] of Object.entries(variants)) {
        if (name.includes('full')) continue
        const got = JSON.parse(fn())
        if (JSON.stringify(got) !== JSON.stringify(expected)) throw new Error(`${name} differs`)
      }
      const samples = new Map<string, number[]>(Object.keys(variants).map((k) => [k, []]))
      // Calibrate iterations so each sample takes about `budgetMs`.
      const iterations = new Map<string, number>()
      for (const [name, fn] of Object.entries(variants)) {
        for (let i = 0; i < 200; i++) fn()
        const t = performance.now()
        let n = 0
        while (performance.now() - t < budgetMs) {
          fn()
          n++
        }
        iterations.set(name, Math.max(10, n))
      }
      let sink = 0
      for (let r = 0; r < rounds; r++) {
        for (const [name, fn] of Object.entries(variants)) {
          const n = iterations.get(name)!
          const t = performance.now()
          for (let i = 0; i < n; i++) sink += fn().length
          samples.get(name)!.push(((performance.now() - t) * 1000) / n)
        }
      }
      if (sink < 0) console.log(sink)
      const med = (k: string) => median(samples.get(k)!)
      for (const name of Object.keys(variants)) {
        results.push({
          pageSize,
          shape: shape.name,
          variant: name,
          usPerOp: med(name),
          vsJsonStringify: med('JSON.stringify projected') / med(name),
          vsFullJsonStringify: med('JSON.stringify full page') / med(name),
        })
      }
    }
  }
  return results
}

/** @internal */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}
