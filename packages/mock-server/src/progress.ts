import type { SeedProgress } from './seeder.js'

/** Where progress goes: a writable text stream, e.g. `process.stderr`. */
export interface ProgressStream {
  write(chunk: string): unknown
  isTTY?: boolean
  columns?: number
}

/** A progress display: `update` after each attempt, `done` once at the end. */
export interface ProgressReporter {
  update(progress: SeedProgress): void
  done(progress: SeedProgress): void
}

/**
 * Creates a progress display: a bar redrawn in place on a terminal, plain lines otherwise (one at
 * every 10% of the events settled), so CI logs stay readable.
 */
export function createProgressReporter(stream: ProgressStream): ProgressReporter {
  return stream.isTTY ? barReporter(stream) : lineReporter(stream)
}

/** Private: the in-place bar for terminals. */
function barReporter(stream: ProgressStream): ProgressReporter {
  const draw = (p: SeedProgress) => {
    const settled = p.added + p.failed
    const width = Math.max(10, Math.min(40, (stream.columns ?? 80) - 50))
    const filled = p.total === 0 ? width : Math.round((settled / p.total) * width)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(width - filled)}`
    stream.write(
      `\r${bar} ${settled}/${p.total} added=${p.added} failed=${p.failed} retries=${p.retries}`,
    )
  }
  return {
    update: draw,
    done(p) {
      draw(p)
      stream.write('\n')
    },
  }
}

/** Private: one line per 10% step when not on a terminal. */
function lineReporter(stream: ProgressStream): ProgressReporter {
  let lastStep = 0
  const line = (p: SeedProgress) =>
    `seed: ${p.added + p.failed}/${p.total} added=${p.added} failed=${p.failed} retries=${p.retries}\n`
  return {
    update(p) {
      const step = p.total === 0 ? 10 : Math.floor(((p.added + p.failed) / p.total) * 10)
      if (step > lastStep && step < 10) {
        lastStep = step
        stream.write(line(p))
      }
    },
    done(p) {
      stream.write(line(p))
    },
  }
}
