import { AggregatorValidationError } from './errors/validation-error.js'
import type { Event, EventField, ProjectedEvent } from './types.js'

/** Every selectable field of an {@link Event}, in output order. */
export const EVENT_FIELDS: readonly EventField[] = Object.freeze([
  'id',
  'name',
  'userId',
  'details',
])

const KNOWN = new Set<string>(EVENT_FIELDS)

/**
 * Validates a `fields` argument and returns it in canonical form: known fields only, each once,
 * in {@link EVENT_FIELDS} order, always starting with `id`. `undefined` selects every field.
 *
 * @throws AggregatorValidationError naming the bad entry, e.g. ``Expected `fields[1]` ...``
 */
export function normalizeFields(fields: unknown): readonly EventField[] {
  if (fields === undefined) return EVENT_FIELDS
  if (!Array.isArray(fields)) {
    throw new AggregatorValidationError('fields', `an array of ${list()}`, fields)
  }
  const wanted = new Set<string>(['id'])
  fields.forEach((f: unknown, i) => {
    if (typeof f !== 'string' || !KNOWN.has(f)) {
      throw new AggregatorValidationError(`fields[${i}]`, `one of ${list()}`, f)
    }
    wanted.add(f)
  })
  return EVENT_FIELDS.filter((f) => wanted.has(f))
}

/** @internal A stable cache key for a canonical field list. */
export function fieldsKey(fields: readonly EventField[]): string {
  return fields.join(',')
}

const projectors = new Map<string, (event: Event) => ProjectedEvent>()
let fullProjector: ((event: Event) => ProjectedEvent) | undefined

/**
 * @internal Returns a function copying the canonical `fields` of an event into a new object
 * (absent optional fields stay absent). Upstream fields we do not know are dropped, even for
 * the full projection, so responses never leak them and stay small.
 */
export function projector(fields: readonly EventField[]): (event: Event) => ProjectedEvent {
  // The full projection (no `fields`) is most pages: found by identity, without building a key.
  if (fields === EVENT_FIELDS && fullProjector !== undefined) return fullProjector
  const key = fieldsKey(fields)
  let fn = projectors.get(key)
  if (fn === undefined) {
    const rest = fields.filter((f) => f !== 'id')
    fn = (event) => {
      const out: Record<string, unknown> = { id: event.id }
      for (const f of rest) {
        const v = event[f]
        if (v !== undefined) out[f] = v
      }
      return out as unknown as ProjectedEvent
    }
    projectors.set(key, fn)
  }
  if (fields === EVENT_FIELDS) fullProjector = fn
  return fn
}

/** @internal */
function list(): string {
  return EVENT_FIELDS.map((f) => JSON.stringify(f)).join(', ')
}
