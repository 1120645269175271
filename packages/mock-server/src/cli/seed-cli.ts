import { isMockServerError } from '../errors/MockServerError.js'
import { createProgressReporter } from '../progress.js'
import { seedEvents } from '../seeder.js'
import { parseCliArgs } from './args.js'
import type { CliIo } from './io.js'

const USAGE = `Usage: userevents-seed --target <url> [--count 200] [--user 1] [--concurrency 4]
                       [--retries 10] [--path /addEvent]

Posts events to a service's POST /addEvent, retrying 503s with backoff (honouring Retry-After).
Exits 1 if any event was not added, 2 on a usage error.`

/**
 * Runs the `userevents-seed` command with `argv` (without the node and script paths) and returns
 * the exit code: 0 when every event was added, 1 when some were not, 2 on a usage error.
 */
export async function runSeedCli(
  argv: string[],
  io: CliIo,
  options: { signal?: AbortSignal } = {},
): Promise<number> {
  const values = parseCliArgs(
    argv,
    {
      target: { type: 'string' },
      count: { type: 'string', default: '200' },
      user: { type: 'string', default: '1' },
      concurrency: { type: 'string', default: '4' },
      retries: { type: 'string', default: '10' },
      path: { type: 'string', default: '/addEvent' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    io,
  )
  if (typeof values === 'number') return values
  if (typeof values.target !== 'string') {
    io.stderr.write(`Missing --target\n${USAGE}\n`)
    return 2
  }
  const reporter = createProgressReporter(io.stderr)
  try {
    const result = await seedEvents({
      target: values.target,
      count: toNumber(values.count),
      userId: String(values.user),
      concurrency: toNumber(values.concurrency),
      retries: toNumber(values.retries),
      path: String(values.path),
      onProgress: (p) => reporter.update(p),
      signal: options.signal,
    })
    reporter.done(result)
    io.stdout.write(
      `added ${result.added} of ${result.total} events (failed ${result.failed}, ` +
        `${result.attempts} attempts, ${result.retries} retries)\n`,
    )
    for (const failure of result.failures.slice(0, 10)) {
      io.stderr.write(`event ${failure.index}: ${failure.message}\n`)
    }
    return result.failed > 0 ? 1 : 0
  } catch (error) {
    if (!isMockServerError(error)) throw error
    io.stderr.write(`${error.message}\n${USAGE}\n`)
    return 2
  }
}

/** Private: numeric flag values; a non-number is left to `seedEvents` to reject with its message. */
function toNumber(value: unknown): number {
  const n = Number(value)
  return value === '' || Number.isNaN(n) ? (value as number) : n
}
