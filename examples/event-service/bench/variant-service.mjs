/**
 * `bench:variants`' service: built as `dist/main.js` builds it (same config, logger and
 * service), with the OpenTelemetry parts `BENCH_VARIANT` selects (see variant.mjs).
 */
import { pino } from 'pino'
import { loadConfig } from '../dist/config.js'
import { createService } from '../dist/service.js'
import { variantTelemetry } from './variant.mjs'

const telemetry = await variantTelemetry(process.env)
const config = loadConfig(process.env)
const logger = pino({
  level: config.logLevel,
  base: { service: 'event-service' },
  ...(telemetry?.logFields === undefined ? {} : { mixin: telemetry.logFields }),
})
const service = await createService(config, { logger, telemetry })
await service.listen()
