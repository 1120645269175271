/**
 * The benchmark's baseline: a bare Fastify 5 app that answers the benchmarked URLs with exactly
 * the bytes (and content type) the service answered, read from the JSON file named by
 * `BARE_RESPONSES`, at the same log level through the same pino. Nothing else: no hooks, no
 * validation, no error handler, no metrics.
 *
 * With `BARE_OTEL=1` it first starts the service's own OpenTelemetry setup (`dist/telemetry.js`,
 * the same `startTelemetry` and server spans `pnpm start` uses, the trace ids in log lines too):
 * what the SDK costs by itself, without anything else of the service.
 */
import { readFileSync } from 'node:fs'
import Fastify from 'fastify'
import { pino } from 'pino'
import { variantTelemetry } from './variant.mjs'

const responses = JSON.parse(readFileSync(process.env.BARE_RESPONSES, 'utf8'))
// `BENCH_VARIANT` (bench:variants) keeps only some parts of the setup; unset, all of them.
const telemetry = process.env.BARE_OTEL === '1' ? await variantTelemetry(process.env) : undefined
const app = Fastify({
  loggerInstance: pino({
    level: process.env.LOG_LEVEL || 'info',
    ...(telemetry?.logFields === undefined ? {} : { mixin: telemetry.logFields }),
  }),
})
if (telemetry !== undefined) await telemetry.instrument(app)
for (const { path, contentType, body } of responses) {
  app.get(path, (_request, reply) => {
    reply.type(contentType).send(body)
  })
}
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) })
