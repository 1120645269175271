/**
 * The benchmark's baseline: a bare Fastify 5 app that answers the benchmarked URLs with exactly
 * the bytes (and content type) the service answered, read from the JSON file named by
 * `BARE_RESPONSES`, at the same log level through the same pino. Nothing else: no hooks, no
 * validation, no error handler, no metrics.
 */
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { pino } from 'pino'

const responses = JSON.parse(readFileSync(process.env.BARE_RESPONSES, 'utf8'))
const app = Fastify({ loggerInstance: pino({ level: process.env.LOG_LEVEL || 'info' }) })
for (const { path, contentType, body } of responses) {
  app.get(path, (_request, reply) => {
    reply.type(contentType).send(body)
  })
}
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
