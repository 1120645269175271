import type { Call } from './call.js'
import { UpstreamAbortError } from './errors/abort-error.js'

/**
 * @internal Abort subscriptions with one listener per signal.
 *
 * A service typically passes one request-scoped signal to many concurrent calls (an aggregator
 * fanning out 50 GETs). Adding a listener per call would trip Node's
 * `MaxListenersExceededWarning` after 10 and scan a growing listener list on every removal, so
 * each signal gets a single listener that fans out to a Set of subscribers.
 */
const subscribers = new WeakMap<AbortSignal, Set<() => void>>()

/** Calls `listener` once when `signal` aborts; returns a function that cancels the subscription. */
export function onAbort(signal: AbortSignal, listener: () => void): () => void {
  let set = subscribers.get(signal)
  if (set === undefined) {
    const created = new Set<() => void>()
    set = created
    subscribers.set(signal, created)
    signal.addEventListener(
      'abort',
      () => {
        subscribers.delete(signal)
        for (const fn of created) fn()
      },
      { once: true },
    )
  }
  const own = set
  own.add(listener)
  return () => {
    own.delete(listener)
  }
}

/** @internal The error of a call whose caller aborted before any attempt of its own. */
export function abortErrorOf(call: Call, signal: AbortSignal): UpstreamAbortError {
  return new UpstreamAbortError({
    method: call.method,
    url: call.url,
    attempts: 0,
    cause: signal.reason,
  })
}

/** @internal Subscribers still waiting on `signal` (for the listener-leak test). */
export function abortSubscribers(signal: AbortSignal): number {
  return subscribers.get(signal)?.size ?? 0
}
