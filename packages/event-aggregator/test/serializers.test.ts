import fastJson from 'fast-json-stringify'
import { describe, expect, it } from 'vitest'
import {
  createEventArraySerializer,
  createPageSerializer,
  EVENT_FIELDS,
  type Event,
  type EventPage,
  eventArrayJsonSchema,
  eventJsonSchema,
  eventPageJsonSchema,
  normalizeFields,
  serializerEngine,
} from '../src/index.js'

const events: Event[] = [
  { id: '1', name: 'Login', userId: '1', details: 'said "hi"\n\u2028 \ud83d\ude00' },
  { id: '2', name: 'Purchase \u0001', userId: '1' },
]

const page = <T>(items: T[]): EventPage<T> => ({
  items,
  total: 7,
  limit: 2,
  offset: 4,
  missing: [{ id: '9', code: 'EVENT_NOT_FOUND', message: 'Event "9" was not found' }],
})

describe('normalizeFields', () => {
  it('puts id first, de-duplicates and orders fields canonically', () => {
    expect(normalizeFields(undefined)).toEqual(EVENT_FIELDS)
    expect(normalizeFields(['details', 'name', 'name'])).toEqual(['id', 'name', 'details'])
    expect(normalizeFields([])).toEqual(['id'])
  })

  it('names the bad field in a validation error', () => {
    expect(() => normalizeFields(['name', 'password'])).toThrow(
      'Expected `fields[1]` to be one of "id", "name", "userId", "details", got "password"',
    )
    expect(() => normalizeFields('name')).toThrow(
      /Expected `fields` to be an array of .*got "name"/,
    )
  })
})

describe('JSON schemas', () => {
  it('describe the full event, and projected pages and arrays', () => {
    expect(eventJsonSchema).toMatchObject({
      type: 'object',
      required: ['id', 'name', 'userId'],
      additionalProperties: false,
    })
    const pageSchema = eventPageJsonSchema(['name'])
    const properties = pageSchema.properties as Record<string, { items: Record<string, unknown> }>
    const items = properties.items!.items
    expect(Object.keys(items.properties as object)).toEqual(['id', 'name'])
    expect(items.required).toEqual(['id', 'name'])
    expect(eventArrayJsonSchema(['details'])).toEqual({
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, details: { type: 'string' } },
        required: ['id'],
        additionalProperties: false,
      },
    })
  })

  it('returns fresh objects, so callers may annotate them', () => {
    const a = eventPageJsonSchema()
    a.title = 'mutated'
    expect(eventPageJsonSchema().title).toBeUndefined()
  })
})

describe('serializers', () => {
  it('compile once per projection and return the cached function', () => {
    expect(createPageSerializer(['name'])).toBe(createPageSerializer(['name', 'id', 'name']))
    expect(createPageSerializer(['name'])).not.toBe(createPageSerializer(['userId']))
    expect(createEventArraySerializer()).toBe(createEventArraySerializer(EVENT_FIELDS))
  })

  it('write the same JSON as JSON.stringify for every projection, escapes included', () => {
    const shapes = [undefined, ['name'], ['name', 'userId'], ['details'], []] as const
    for (const fields of shapes) {
      const canonical = normalizeFields(fields)
      const items = events.map((e) => {
        const o: Record<string, unknown> = {}
        for (const f of canonical) if (e[f] !== undefined) o[f] = e[f]
        return o
      })
      expect(createPageSerializer(fields)(page(items))).toBe(JSON.stringify(page(items)))
      expect(createEventArraySerializer(fields)(items)).toBe(JSON.stringify(items))
      // The schemas agree with what the serializer writes.
      expect(fastJson(eventPageJsonSchema(fields))(page(items))).toBe(JSON.stringify(page(items)))
    }
  })

  it('are not affected by another fast-json-stringify build using largeArrayMechanism', () => {
    // fast-json-stringify keeps this option in module state; a build elsewhere must not leak
    // into ours (under it, arrays go through JSON.stringify and extra fields leak out).
    fastJson(
      { type: 'array', items: { type: 'object' } },
      {
        largeArrayMechanism: 'json-stringify',
        largeArraySize: 1,
      },
    )
    const serialize = createEventArraySerializer(['userId'])
    const items = [{ id: '1', userId: '2', secret: 'x' }]
    expect(serialize(items)).toBe('[{"id":"1","userId":"2"}]')
  })

  it('use fast-json-stringify only where it measured faster (no free-text details)', () => {
    expect(serializerEngine(['name', 'userId'])).toBe('fast-json-stringify')
    expect(serializerEngine(['details'])).toBe('JSON.stringify')
    expect(serializerEngine()).toBe('JSON.stringify')
  })
})
