import Fastify from 'fastify'
import { describe, expect, it } from 'vitest'
import { serializedOnce } from '../src/serialized-once.js'

describe('serializedOnce', () => {
  it('serializes a value with the route schema once per object, and a new object anew', async () => {
    const app = Fastify()
    const send = serializedOnce()
    let current: object = [{ id: '1', events: ['1'], secret: 'dropped by the schema' }]
    let serialized = 0
    app.get(
      '/list',
      {
        schema: {
          response: {
            200: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  id: { type: 'string' },
                  events: { type: 'array', items: { type: 'string' } },
                },
              },
            },
          },
        },
      },
      async (_request, reply) => {
        const serialize = reply.serialize.bind(reply)
        reply.serialize = (value: unknown) => {
          serialized++
          return serialize(value)
        }
        return send(reply, current)
      },
    )
    const first = await app.inject('/list')
    const second = await app.inject('/list')
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8')
    expect(first.body).toBe('[{"id":"1","events":["1"]}]')
    expect(second.body).toBe(first.body)
    expect(serialized).toBe(1)
    current = [{ id: '2', events: [] }]
    expect((await app.inject('/list')).body).toBe('[{"id":"2","events":[]}]')
    expect(serialized).toBe(2)
    await app.close()
  })
})
