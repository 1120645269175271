import { channel } from 'node:diagnostics_channel'

/**
 * The `node:diagnostics_channel` names the client publishes on, so an APM agent can follow
 * upstream calls without depending on this package's API (as undici publishes
 * `undici:request:create`). Each message is the event object the matching hook receives; the
 * one of `request` carries the attempt's `headers`, which a subscriber may add to (trace
 * context, say), as undici's `request.addHeader()` allows on `undici:request:create`.
 *
 * | channel | message | when |
 * | --- | --- | --- |
 * | `userevents:upstream-client:call:start` | `CallState` | a call starts (before the cache is read) |
 * | `userevents:upstream-client:call:end` | `CallEndEvent` | a call settled |
 * | `userevents:upstream-client:request` | `RequestEvent` | an attempt is about to be dispatched |
 * | `userevents:upstream-client:response` | `ResponseEvent` | an attempt got a complete response |
 * | `userevents:upstream-client:attempt:error` | `AttemptErrorEvent` | an attempt failed |
 * | `userevents:upstream-client:retry` | `RetryEvent` | a retry was scheduled |
 * | `userevents:upstream-client:hedge` | `HedgeEvent` | a hedge was sent, won or refused |
 * | `userevents:upstream-client:circuit:state` | `StateChangeEvent` | a breaker changed state |
 * | `userevents:upstream-client:circuit:ramp` | `RampChangeEvent` | a step of the post-recovery ramp |
 * | `userevents:upstream-client:cache:hit` | `CacheHitEvent` | a GET was answered from the cache |
 * | `userevents:upstream-client:cache:miss` | `CacheMissEvent` | a GET missed the cache |
 * | `userevents:upstream-client:coalesced` | `CoalescedEvent` | a GET joined an identical one in flight |
 *
 * Messages are published synchronously, after the client's own listeners; a subscriber must not
 * keep a reference to `headers` beyond the message.
 *
 * @example
 * import { subscribe } from 'node:diagnostics_channel'
 * import { diagnosticsChannels } from '@userevents/upstream-client'
 * subscribe(diagnosticsChannels.retry, (message) => console.log('retry', message))
 */
export const diagnosticsChannels = Object.freeze({
  callStart: 'userevents:upstream-client:call:start',
  callEnd: 'userevents:upstream-client:call:end',
  request: 'userevents:upstream-client:request',
  response: 'userevents:upstream-client:response',
  attemptError: 'userevents:upstream-client:attempt:error',
  retry: 'userevents:upstream-client:retry',
  hedge: 'userevents:upstream-client:hedge',
  circuitState: 'userevents:upstream-client:circuit:state',
  circuitRamp: 'userevents:upstream-client:circuit:ramp',
  cacheHit: 'userevents:upstream-client:cache:hit',
  cacheMiss: 'userevents:upstream-client:cache:miss',
  cacheNotStored: 'userevents:upstream-client:cache:not-stored',
  coalesced: 'userevents:upstream-client:coalesced',
} as const)

/**
 * @internal The channel objects, one per name for the whole process. Node keeps a channel per
 * name, so creating them here (as undici does at load) costs one lookup each, once.
 */
export const channels = {
  callStart: channel(diagnosticsChannels.callStart),
  callEnd: channel(diagnosticsChannels.callEnd),
  request: channel(diagnosticsChannels.request),
  response: channel(diagnosticsChannels.response),
  attemptError: channel(diagnosticsChannels.attemptError),
  retry: channel(diagnosticsChannels.retry),
  hedge: channel(diagnosticsChannels.hedge),
  circuitState: channel(diagnosticsChannels.circuitState),
  circuitRamp: channel(diagnosticsChannels.circuitRamp),
  cacheHit: channel(diagnosticsChannels.cacheHit),
  cacheMiss: channel(diagnosticsChannels.cacheMiss),
  cacheNotStored: channel(diagnosticsChannels.cacheNotStored),
  coalesced: channel(diagnosticsChannels.coalesced),
}
