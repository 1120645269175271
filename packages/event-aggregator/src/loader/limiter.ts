import { AsyncResource } from 'node:async_hooks'

/**
 * @internal A sliding-window concurrency limiter: at most `concurrency` tasks run at once and the
 * next queued task starts the moment any running task settles. Unlike fixed chunks
 * (`Promise.all` over 50, then the next 50) one slow task never holds back the others.
 * Tasks start in FIFO order, so the first ids of a page are fetched first.
 *
 * A queued task starts in the async context of the caller that queued it, not in that of the
 * task whose settlement freed the slot: a page's event reads stay under that page's span (and
 * its AsyncLocalStorage stores) even when they waited behind another page's reads.
 */
export interface Limiter {
  /**
   * Runs `task` when a slot is free. If `signal` aborts while the task is still queued, the task
   * never starts and the promise rejects with `signal.reason`.
   */
  run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T>
  /** Tasks running now. */
  readonly active: number
  /** Tasks waiting for a slot. */
  readonly queued: number
}

/** @internal One queued task; `start` is cleared when the task is cancelled while queued. */
interface Slot {
  start: (() => void) | undefined
}

/**
 * @internal See {@link Limiter}. `window`, when given, is read before each start: the window is
 * then its current value (at least 1), never more than `concurrency`. A window that shrinks lets
 * running tasks finish and starts none until fewer run; one that grows is used from the next
 * start on.
 */
export function createLimiter(concurrency: number, window?: () => number): Limiter {
  let active = 0
  let waiting = 0
  // An array with a moving head: O(1) dequeue without `shift()` on thousands of ids.
  let queue: Slot[] = []
  let head = 0

  const size =
    window === undefined
      ? () => concurrency
      : () => Math.min(concurrency, Math.max(1, Math.floor(window()) || 1))

  const next = () => {
    while (active < size() && head < queue.length) {
      const slot = queue[head++]!
      const start = slot.start
      if (start === undefined) continue
      waiting--
      start()
    }
    if (head === queue.length) {
      queue = []
      head = 0
    }
  }

  return {
    get active() {
      return active
    },
    get queued() {
      return waiting
    },
    run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason)
      return new Promise<T>((resolve, reject) => {
        const slot: Slot = { start: undefined }
        const onAbort = () => {
          if (slot.start === undefined) return
          slot.start = undefined
          waiting--
          reject(signal!.reason)
        }
        slot.start = () => {
          slot.start = undefined
          signal?.removeEventListener('abort', onAbort)
          active++
          let p: Promise<T>
          try {
            p = task()
          } catch (error) {
            p = Promise.reject(error)
          }
          p.then(resolve, reject).finally(() => {
            active--
            next()
          })
        }
        // Only a task that cannot start now pays for capturing the context (an AsyncResource).
        if (active >= concurrency) slot.start = AsyncResource.bind(slot.start)
        waiting++
        queue.push(slot)
        signal?.addEventListener('abort', onAbort, { once: true })
        next()
      })
    },
  }
}
