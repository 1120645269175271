/**
 * Console rendering for `pnpm demo`: headings, timestamped story lines, a live progress line and
 * the summary table. Colour and in-place redraws only on a TTY (and never with `NO_COLOR`), so the
 * output piped to a file or CI log stays plain lines.
 */

/** Where and how the demo writes. */
export interface DemoConsole {
  heading(title: string, subtitle?: string): void
  /** A plain indented line. */
  line(text?: string): void
  /** A line stamped with the time since {@link DemoConsole.resetClock}. */
  at(text: string): void
  /** Restarts the clock the `at` lines show. */
  resetClock(): void
  /** Redraws one live progress line (TTY) or prints it every `every` steps (plain). */
  progress(label: string, done: number, total: number, extra?: string): void
  /** Ends a live progress line so the next line does not overwrite it. */
  endProgress(): void
  table(header: readonly string[], rows: readonly (readonly string[])[]): void
  readonly style: Style
}

/** Text styles; identity functions when colour is off. */
export interface Style {
  bold(s: string): string
  dim(s: string): string
  green(s: string): string
  red(s: string): string
  yellow(s: string): string
  cyan(s: string): string
}

/** Options of {@link createDemoConsole}. */
export interface DemoConsoleOptions {
  out?: NodeJS.WriteStream
  /** Current time in ms; injectable so the rendering can be tested. */
  now?: () => number
}

/**
 * Creates the demo's console writer.
 *
 * @example
 * ```ts
 * const c = createDemoConsole()
 * c.heading('1. Slow events', 'a user with 1,000 events')
 * c.at('page 1 in 512 ms')
 * ```
 */
export function createDemoConsole(options: DemoConsoleOptions = {}): DemoConsole {
  const out = options.out ?? process.stdout
  const now = options.now ?? (() => performance.now())
  const tty = out.isTTY === true
  const colour = tty && process.env.NO_COLOR === undefined
  const style = makeStyle(colour)
  let start = now()
  let live = false
  let lastPlainPercent = -1

  const write = (s: string) => out.write(s)
  const endProgress = () => {
    if (live) write('\n')
    live = false
  }

  return {
    style,
    heading(title, subtitle) {
      endProgress()
      const rule = '═'.repeat(Math.max(title.length + 4, 60))
      write(`\n${style.cyan(rule)}\n  ${style.bold(title)}\n`)
      if (subtitle !== undefined) write(`  ${style.dim(subtitle)}\n`)
      write(`${style.cyan(rule)}\n`)
    },
    line(text = '') {
      endProgress()
      write(`  ${text}\n`)
    },
    at(text) {
      endProgress()
      write(`  ${style.dim(`[+${((now() - start) / 1000).toFixed(2).padStart(5)}s]`)} ${text}\n`)
    },
    resetClock() {
      start = now()
    },
    progress(label, done, total, extra = '') {
      const ratio = total === 0 ? 1 : done / total
      if (tty) {
        const width = 30
        const filled = Math.round(ratio * width)
        const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
        write(`\r\x1b[2K  ${label} ${style.green(bar)} ${done}/${total} ${style.dim(extra)}`)
        live = true
        return
      }
      // Plain output: a line per quarter, so logs show progress without a line per request.
      const percent = Math.floor(ratio * 4) * 25
      if (percent !== lastPlainPercent || done === total) {
        lastPlainPercent = percent
        write(`  ${label} ${done}/${total} ${extra}\n`)
      }
    },
    endProgress,
    table(header, rows) {
      endProgress()
      const widths = header.map((h, i) =>
        Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))),
      )
      const fmt = (cells: readonly string[]) =>
        `  │ ${cells.map((c, i) => pad(c, widths[i] ?? 0)).join(' │ ')} │`
      const rule = (l: string, m: string, r: string) =>
        `  ${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`
      write(`${rule('┌', '┬', '┐')}\n${fmt(header.map((h) => style.bold(h)))}\n`)
      write(`${rule('├', '┼', '┤')}\n`)
      for (const row of rows) write(`${fmt(row)}\n`)
      write(`${rule('└', '┴', '┘')}\n`)
    },
  }
}

/** Formats a duration for people: `0.8 ms`, `512 ms`, `2.31 s`, `8 min 20 s`. */
export function formatDuration(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)} ms`
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 120_000) return `${(ms / 1000).toFixed(2)} s`
  const minutes = Math.floor(ms / 60_000)
  return `${minutes} min ${Math.round((ms - minutes * 60_000) / 1000)} s`
}

/** Private: ANSI styles, or identity when colour is off. */
function makeStyle(colour: boolean): Style {
  const sgr = (open: number, close: number) => (s: string) =>
    colour ? `\x1b[${open}m${s}\x1b[${close}m` : s
  return {
    bold: sgr(1, 22),
    dim: sgr(2, 22),
    green: sgr(32, 39),
    red: sgr(31, 39),
    yellow: sgr(33, 39),
    cyan: sgr(36, 39),
  }
}

/** Private: the printed width of a string, ignoring ANSI escapes. */
function visibleLength(s: string): number {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escapes is the point
  return s.replace(/\x1b\[[0-9;]*m/g, '').length
}

/** Private: right-pads to a visible width. */
function pad(s: string, width: number): string {
  return s + ' '.repeat(Math.max(0, width - visibleLength(s)))
}
