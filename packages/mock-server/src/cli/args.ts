import { parseArgs } from 'node:util'
import type { CliIo } from './io.js'

/** The flags a CLI accepts, in `node:util` parseArgs form (single-valued only). */
export type CliOptions = Record<
  string,
  { type: 'string' | 'boolean'; short?: string; default?: string | boolean }
>

/** Parsed flag values by long name. */
export type CliValues = Record<string, string | boolean | undefined>

/**
 * Parses `argv` strictly and handles what every CLI here answers the same way: a usage error
 * prints the parser's message and `usage` on stderr (exit code 2), `--help` prints `usage` on
 * stdout (exit code 0). Returns the values otherwise, or that exit code.
 */
export function parseCliArgs(
  argv: string[],
  options: CliOptions,
  usage: string,
  io: CliIo,
): CliValues | number {
  let values: CliValues
  try {
    values = parseArgs({ args: argv, options, strict: true }).values
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n${usage}\n`)
    return 2
  }
  if (values.help) {
    io.stdout.write(`${usage}\n`)
    return 0
  }
  return values
}
