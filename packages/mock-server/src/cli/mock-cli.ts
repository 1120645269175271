import type { BrownoutOptions } from '../brownout.js'
import { parseTail } from '../core/overlays/tail.js'
import { generateDataSet } from '../data.js'
import { isMockServerError } from '../errors/MockServerError.js'
import type { MockServerHandle } from '../listen.js'
import { createMockUpstream } from '../mock.js'
import type { MockMode } from '../types.js'
import { parseCliArgs } from './args.js'
import type { CliIo } from './io.js'

const USAGE = `Usage: userevents-mock [--port 4000] [--host 127.0.0.1] [--mode flapping]
                       [--events-per-user N] [--seed S] [--no-delays]
                       [--latency-factor 4] [--error-rate 0.3] [--capacity 10]
                       [--quota 100/s]
                       [--tail 0.02:300]

Serves the mock event API. Prints the URL on stdout. Modes: healthy, down, flapping, slow,
brownout (--latency-factor, --error-rate and --capacity set the brownout; they apply in that
mode). Switch modes at run time with
  curl -X POST <url>/__admin/mode -d '{"mode":"down"}'
  curl -X POST <url>/__admin/mode -d '{"mode":"brownout","brownout":{"capacity":5}}'
--quota 100/s (or /min, /h) limits every mode: 429 + Retry-After over it, RateLimit headers
on every answer; switch with curl -X POST <url>/__admin/quota -d '{"quota":"50/s"}'
--tail RATE:MS delays a seeded share of answers (0.02:300: 2 % by 300 ms) in any mode; switch it with
  curl -X POST <url>/__admin/tail -d '{"rate":0.02,"delayMs":300}'   (or -d false)`

/**
 * Starts the `userevents-mock` server from `argv` (without the node and script paths). Resolves
 * the running server, or an exit code (0 after `--help`, 2 on a usage error).
 */
export async function runMockCli(argv: string[], io: CliIo): Promise<MockServerHandle | number> {
  const values = parseCliArgs(
    argv,
    {
      port: { type: 'string', default: '4000' },
      host: { type: 'string', default: '127.0.0.1' },
      mode: { type: 'string', default: 'flapping' },
      'events-per-user': { type: 'string' },
      seed: { type: 'string', default: '1' },
      'no-delays': { type: 'boolean' },
      'latency-factor': { type: 'string' },
      'error-rate': { type: 'string' },
      capacity: { type: 'string' },
      quota: { type: 'string' },
      tail: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    USAGE,
    io,
  )
  if (typeof values === 'number') return values
  const port = Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    io.stderr.write(
      `Expected \`--port\` to be an integer from 0 to 65535, got ${JSON.stringify(values.port)}\n`,
    )
    return 2
  }
  const perUser = values['events-per-user']
  const eventsPerUser = perUser === undefined ? undefined : Number(perUser)
  if (eventsPerUser !== undefined && (!Number.isSafeInteger(eventsPerUser) || eventsPerUser < 0)) {
    io.stderr.write(
      `Expected \`--events-per-user\` to be a non-negative integer, got ${JSON.stringify(perUser)}\n`,
    )
    return 2
  }
  const brownout: BrownoutOptions = {}
  for (const [flag, key] of [
    ['latency-factor', 'latencyFactor'],
    ['error-rate', 'errorRate'],
    ['capacity', 'capacity'],
  ] as const) {
    const raw = values[flag]
    if (raw === undefined) continue
    const value = Number(raw)
    if (raw === '' || Number.isNaN(value)) {
      io.stderr.write(`Expected \`--${flag}\` to be a number, got ${JSON.stringify(raw)}\n`)
      return 2
    }
    brownout[key] = value
  }
  try {
    const tail = values.tail === undefined ? false : parseTail(String(values.tail))
    const mock = createMockUpstream({
      tail,
      brownout,
      mode: values.mode as MockMode,
      seed: Number(values.seed),
      ...(values.quota === undefined ? {} : { quota: String(values.quota) }),
      ...(values['no-delays'] ? { delays: 0 } : {}),
      ...(eventsPerUser === undefined ? {} : { data: generateDataSet({ eventsPerUser }) }),
    })
    const server = await mock.listen({ port, host: String(values.host) })
    io.stdout.write(`${server.url}\n`)
    io.stderr.write(
      `userevents-mock: mode=${mock.mode}${brownoutNote(mock.mode, mock.brownout)} seed=${values.seed} users=${mock.store.listUsers().length} ` +
        `events=${mock.store.listEvents().length}; Ctrl+C to stop\n`,
    )
    return server
  } catch (error) {
    if (!isMockServerError(error)) throw error
    io.stderr.write(`${error.message}\n`)
    return 2
  }
}

/** Private: the brownout settings for the start-up line, when the mock starts browned out. */
function brownoutNote(mode: MockMode, b: Required<BrownoutOptions>): string {
  return mode === 'brownout'
    ? ` (latency x${b.latencyFactor}, errors ${b.errorRate}, capacity ${b.capacity})`
    : ''
}
