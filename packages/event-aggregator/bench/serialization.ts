import fastJson from 'fast-json-stringify'
import { eventPageJsonSchema } from '../src/schemas.js'
import type { Event, EventField, EventPage } from '../src/types.js'

/** One measured way of turning a page into JSON. */
export interface SerializerResult {
  pageSize: number
  shape: string
  variant: string
  usPerOp: number
  medianUsPerOp: number
  /** usPerOp of `JSON.stringify` on the same (projected) page divided by this one. */
  vsJsonStringify: number
  /** usPerOp of `JSON.stringify` on the full, unprojected page divided by this one. */
  vsFullJsonStringify: number
  /** The engine `createPageSerializer` uses for this shape (set by the worker). */
  shippedEngine?: string
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

/** The measured page shapes: projections, and the page sizes of the issue. */
export const SHAPES: { name: string; fields: readonly EventField[] | undefined }[] = [
  { name: 'projected id,name', fields: ['id', 'name'] },
  { name: 'projected id,name,userId', fields: ['id', 'name', 'userId'] },
  { name: 'all fields', fields: undefined },
]
/** Page sizes measured. */
export const PAGE_SIZES = [50, 500]

/**
 * Measures every variant for one page size and shape, in interleaved rounds whose order rotates
 * (so a noisy neighbour or GC hurts all variants alike), and reports the fastest round: on a
 * shared machine interference only ever adds time, so the minimum is the most repeatable
 * estimate of what the code itself costs (the median is kept as `medianUsPerOp`). Includes
 * fast-json-stringify with and without `largeArrayMechanism: 'json-stringify'` (with
 * `largeArraySize` lowered so it applies to these page sizes; at its default of 20,000 items it
 * would never kick in). Run each shape in a fresh process (see `serialization-worker.ts`), so
 * that serializers compiled for other shapes do not skew the JIT's feedback.
 */
export function measureShape(
  serializeShipped: (
    fields: readonly EventField[] | undefined,
  ) => (page: EventPage<unknown>) => string,
  pageSize: number,
  shapeName: string,
  options: { rounds?: number; budgetMs?: number } = {},
): SerializerResult[] {
  const rounds = options.rounds ?? 30
  const budgetMs = options.budgetMs ?? 8
  const shape = SHAPES.find((s) => s.name === shapeName)
  if (!shape) throw new Error(`unknown shape ${shapeName}`)
  const results: SerializerResult[] = []
  const events = makeEvents(pageSize)
  const fullPage = { items: events, total: pageSize, limit: pageSize, offset: 0, missing: [] }
  const fields = shape.fields ?? (['id', 'name', 'userId', 'details'] as const)
  const page = { ...fullPage, items: events.map((e) => project(e, fields)) }
  const schema = eventPageJsonSchema(shape.fields)
  // Explicit defaults: fast-json-stringify keeps these two options in module-level state, so a
  // build without them would inherit the previous build's `json-stringify` mechanism.
  const fjsDefault = fastJson(schema, { largeArrayMechanism: 'default', largeArraySize: 20_000 })
  const fjsLarge = fastJson(schema, { largeArrayMechanism: 'json-stringify', largeArraySize: 1 })
  const shipped = serializeShipped(shape.fields)
  const variants: [string, () => string][] = [
    ['JSON.stringify full page', () => JSON.stringify(fullPage)],
    ['JSON.stringify projected', () => JSON.stringify(page)],
    ['fjs projected (default arrays)', () => fjsDefault(page)],
    ['fjs projected (largeArrayMechanism json-stringify)', () => fjsLarge(page)],
    ['shipped createPageSerializer', () => shipped(page)],
  ]
  // Same output check: a faster serializer that writes something else is worthless.
  const expected = JSON.stringify(page)
  for (const [name, fn] of variants) {
    if (!name.includes('full') && fn() !== expected) throw new Error(`${name} writes other JSON`)
  }
  // Warm up, then calibrate iterations so each sample takes about `budgetMs`.
  const iterations = new Map<string, number>()
  for (const [name, fn] of variants) {
    const warm = performance.now()
    while (performance.now() - warm < 300) fn()
    const t = performance.now()
    let n = 0
    while (performance.now() - t < budgetMs) {
      fn()
      n++
    }
    iterations.set(name, Math.max(10, n))
  }
  const samples = new Map<string, number[]>(variants.map(([k]) => [k, []]))
  let sink = 0
  for (let r = 0; r < rounds; r++) {
    for (let v = 0; v < variants.length; v++) {
      const [name, fn] = variants[(v + r) % variants.length]!
      const n = iterations.get(name)!
      const t = performance.now()
      for (let i = 0; i < n; i++) sink += fn().length
      samples.get(name)!.push(((performance.now() - t) * 1000) / n)
    }
  }
  if (sink < 0) console.log(sink)
  const best = (k: string) => Math.min(...samples.get(k)!)
  for (const [name] of variants) {
    results.push({
      pageSize,
      shape: shape.name,
      variant: name,
      usPerOp: best(name),
      medianUsPerOp: median(samples.get(name)!),
      vsJsonStringify: best('JSON.stringify projected') / best(name),
      vsFullJsonStringify: best('JSON.stringify full page') / best(name),
    })
  }
  return results
}

/**
 * Runs {@link measureShape} for every page size and shape, each in a fresh child process
 * (`serialization-worker.ts`, started with this process's loader flags so tsx applies).
 */
export async function measureSerialization(): Promise<SerializerResult[]> {
  const { fork } = await import('node:child_process')
  const worker = new URL('./serialization-worker.ts', import.meta.url)
  const results: SerializerResult[] = []
  for (const pageSize of PAGE_SIZES) {
    for (const shape of SHAPES) {
      const out = await new Promise<SerializerResult[]>((resolve, reject) => {
        const child = fork(worker, [String(pageSize), shape.name], { stdio: 'pipe' })
        let text = ''
        child.stdout?.on('data', (d: Buffer) => {
          text += d.toString()
        })
        child.on('error', reject)
        child.on('exit', (code) =>
          code === 0 ? resolve(JSON.parse(text)) : reject(new Error(`worker exited ${code}`)),
        )
      })
      results.push(...out)
    }
  }
  return results
}

/** @internal */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}
