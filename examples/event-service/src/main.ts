/**
 * Entry point of `pnpm start`: reads the configuration from the environment, starts the service
 * (and the embedded mock upstream when `UPSTREAM_BASE` is unset) and installs the graceful
 * shutdown on SIGTERM and SIGINT.
 */
import { pino } from 'pino'
import { loadConfig } from './config.js'
import { isConfigError } from './errors/ConfigError.js'
import { installGracefulShutdown } from './shutdown.js'
import { startTelemetry } from './telemetry.js'

async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (!isConfigError(err)) throw err
    // Plain stderr, not a log line: this is read by a person fixing their environment.
    process.stderr.write(`event-service: ${err.message}\n`)
    process.exitCode = 1
    return
  }

  // Before the service: the upstream client looks for the SDK's providers when it is created.
  // `OTEL_SDK_DISABLED=true` leaves it all out (see telemetry.ts).
  const telemetry = await startTelemetry(process.env)
  const logger = pino({
    level: config.logLevel,
    base: { service: 'event-service' },
    ...(telemetry === undefined ? {} : { mixin: telemetry.logFields }),
  })
  // Imported after the config is known to be valid, so a bad value fails fast without loading
  // Fastify, undici and msw first.
  const { createService } = await import('./service.js')
  const service = await createService(config, { logger, telemetry })
  const url = await service.listen()
  logger.info(
    {
      url,
      upstream: service.upstreamUrl,
      embeddedMock: service.mock !== undefined,
      openTelemetry: telemetry !== undefined,
    },
    `event-service listening on ${url}`,
  )
  installGracefulShutdown({
    // The SDK last, so it flushes the spans and metrics of the drained requests.
    close: async () => {
      await service.close()
      await telemetry?.shutdown()
    },
    logger,
    timeoutMs: config.shutdownTimeoutMs,
  })
}

main().catch((err: unknown) => {
  process.stderr.write(
    `event-service failed to start: ${err instanceof Error ? err.stack : String(err)}\n`,
  )
  process.exit(1)
})
