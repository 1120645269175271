/**
 * Preloaded into the service by the chaos suite (`node --expose-gc --import ./heap-probe.mjs`),
 * never by the service itself: on SIGUSR2 it forces a full GC and writes the heap in use to
 * stderr as one JSON line, `{"chaosHeapUsed":<bytes>}`. The service code stays unaware of it, so
 * the suite measures the very build `pnpm start` runs.
 */
process.on('SIGUSR2', () => {
  globalThis.gc?.()
  globalThis.gc?.()
  process.stderr.write(`${JSON.stringify({ chaosHeapUsed: process.memoryUsage().heapUsed })}\n`)
})
