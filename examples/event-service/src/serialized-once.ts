import type { FastifyReply } from 'fastify'

const JSON_TYPE = 'application/json; charset=utf-8'

/**
 * Sends an upstream value that the client's GET cache hands out as one object until it expires
 * (`/getUsers`, `/getEvents`), serialized once per object instead of on every request: for a list
 * of users the serializer was most of a cached answer's CPU. The route's own response schema
 * serializes it (`reply.serialize`), so the bytes are those Fastify would send.
 *
 * @example
 * const sendUsers = serializedOnce()
 * app.get('/getUsers', { schema }, async (_req, reply) => sendUsers(reply, await loadUsers()))
 */
export function serializedOnce(): (reply: FastifyReply, value: object) => FastifyReply {
  // `reply.serialize` is typed to also return buffers (a custom serializer may); kept as given.
  const bodies = new WeakMap<object, ReturnType<FastifyReply['serialize']>>()
  return (reply, value) => {
    let body = bodies.get(value)
    if (body === undefined) {
      body = reply.serialize(value)
      bodies.set(value, body)
    }
    return reply.type(JSON_TYPE).send(body)
  }
}
