import { Dispatcher } from 'undici'

const CALLS = Number(process.env.BENCH_CALLS ?? 200_000)

const BODY = Buffer.from(JSON.stringify({ id: '1', name: 'login', userId: '1' }))

/** Answers 200 with a small JSON body through the handler API undici's own dispatchers use. */
export class InMemoryDispatcher extends Dispatcher {
  override dispatch(_options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler) {
    const controller = {
      abort() {},
      pause() {},
      resume() {},
      aborted: false,
      paused: false,
      reason: null,
    } as unknown as Dispatcher.DispatchController
    queueMicrotask(() => {
      handler.onRequestStart?.(controller, {})
      handler.onResponseStart?.(controller, 200, { 'content-type': 'application/json' }, 'OK')
      handler.onResponseData?.(controller, BODY)
      handler.onResponseEnd?.(controller, {})
    })
    return true
  }
}

/** Calls/s of `call`, run `BENCH_CALLS` times (default 200,000) by 50 concurrent loops. */
export async function callsPerSecond(call: () => Promise<unknown>): Promise<number> {
  let started = 0
  const t0 = performance.now()
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (started++ < CALLS) await call()
    }),
  )
  return (CALLS / (performance.now() - t0)) * 1000
}
