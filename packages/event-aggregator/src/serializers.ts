import fastJson from 'fast-json-stringify'
import { fieldsKey, normalizeFields } from './projection.js'
import { eventArrayJsonSchema, eventPageJsonSchema } from './schemas.js'
import type { EventField, EventPage } from './types.js'

/** Turns a value into its JSON text. */
export type Serializer<T> = (value: T) => string

/**
 * Which engine a serializer uses for a projection:
 * - `fast-json-stringify` when the projection has only short, id-like fields (`id`, `name`,
 *   `userId`): measured 1.3-2.0x faster than `JSON.stringify` on pages of 50 and 500;
 * - `JSON.stringify` when it includes free-text `details`: fast-json-stringify was measured
 *   7-33% slower there (its per-string escape scan costs more than V8's native one on long
 *   strings), so shipping it would make those pages slower.
 *
 * Both give byte-identical output for pages built by the aggregator (same key order, absent
 * `details` omitted). See the package README for the figures (`pnpm bench`).
 */
export function serializerEngine(
  fields?: readonly EventField[],
): 'fast-json-stringify' | 'JSON.stringify' {
  return normalizeFields(fields).includes('details') ? 'JSON.stringify' : 'fast-json-stringify'
}

/**
 * @internal Passed on every build, explicitly. fast-json-stringify 6 kept `largeArrayMechanism`
 * and `largeArraySize` in module-level variables that one build elsewhere in the process could
 * change for every later build; 7 keeps them per build, and an application may still get a copy
 * of 6 through another dependency, so the choice stays written here. Under `json-stringify` large
 * arrays go through `JSON.stringify`, which neither is faster for our pages (measured) nor drops
 * fields outside the schema. Pages are at most `maxLimit` items, far below 20,000, so the array
 * loop is the one that runs.
 */
const FJS_OPTIONS = { largeArrayMechanism: 'default', largeArraySize: 20_000 } as const

const pageSerializers = new Map<string, Serializer<EventPage<unknown>>>()
const arraySerializers = new Map<string, Serializer<readonly unknown[]>>()

/**
 * Returns the serializer of an {@link EventPage} projected onto `fields` (all fields when
 * omitted). Compiled once per projection and cached, so call it freely per request. The engine
 * is chosen per projection by measurement; see {@link serializerEngine}.
 *
 * @example
 * const serialize = createPageSerializer(['name'])
 * reply.type('application/json').send(serialize(await aggregator.getEventsByUserId(id, { fields: ['name'] })))
 */
export function createPageSerializer(
  fields?: readonly EventField[],
): Serializer<EventPage<unknown>> {
  const canonical = normalizeFields(fields)
  const key = fieldsKey(canonical)
  let fn = pageSerializers.get(key)
  if (fn === undefined) {
    fn =
      serializerEngine(canonical) === 'JSON.stringify'
        ? jsonStringify
        : (fastJson(eventPageJsonSchema(canonical), FJS_OPTIONS) as Serializer<EventPage<unknown>>)
    pageSerializers.set(key, fn)
  }
  return fn
}

/**
 * Returns the serializer of a bare array of events projected onto `fields` (all fields when
 * omitted); compiled once per projection and cached, engine as in {@link createPageSerializer}.
 */
export function createEventArraySerializer(
  fields?: readonly EventField[],
): Serializer<readonly unknown[]> {
  const canonical = normalizeFields(fields)
  const key = fieldsKey(canonical)
  let fn = arraySerializers.get(key)
  if (fn === undefined) {
    fn =
      serializerEngine(canonical) === 'JSON.stringify'
        ? jsonStringify
        : (fastJson(eventArrayJsonSchema(canonical), FJS_OPTIONS) as Serializer<readonly unknown[]>)
    arraySerializers.set(key, fn)
  }
  return fn
}

/** @internal */
function jsonStringify(value: unknown): string {
  return JSON.stringify(value)
}
