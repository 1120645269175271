import type { SharedFetchResult, SharedSetOptions } from '@userevents/upstream-client'
import { fail, nonNegative } from './options.js'

/**
 * @internal How long an entry of the shared store is fresh and kept, in whole ms of the Redis
 * server's time; `undefined`: store nothing (`store: false`, or kept less than 1 ms).
 */
export interface EntryLifetime {
  freshMs: number
  keepMs: number
}

/**
 * @internal The lifetime a fetch (or a `set`) asked for, validated: `freshMs` a non-negative
 * number, `keepMs` (default `freshMs`) a finite one not below it. Throws `InvalidOptionError`
 * naming the value; `undefined` when nothing is to be stored.
 */
export function lifetimeOf(
  result: SharedFetchResult<unknown> | SharedSetOptions,
): EntryLifetime | undefined {
  if (typeof result !== 'object' || result === null) {
    fail('fetch result', 'an object with `value` and `freshMs`, or `store: false`', result)
  }
  if ('store' in result && result.store === false) return undefined
  const { freshMs, keepMs } = result as SharedSetOptions
  if (freshMs === undefined) fail('freshMs', 'a non-negative number', freshMs)
  const fresh = nonNegative('freshMs', freshMs, 0)
  const keep = nonNegative('keepMs', keepMs, fresh)
  if (keep < fresh) fail('keepMs', `a number of ms not below freshMs (${fresh})`, keep)
  const kept = Math.ceil(keep)
  return kept < 1 ? undefined : { freshMs: Math.min(Math.round(fresh), kept), keepMs: kept }
}

/** @internal JSON of `value`, or `undefined` when it is not JSON or larger than `max` bytes. */
export function encode(value: unknown, max: number): string | undefined {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch {
    return undefined
  }
  if (json === undefined) return undefined
  // Cheap bound first: a UTF-8 byte is at least one UTF-16 unit and at most three.
  if (json.length > max) return undefined
  if (json.length * 3 > max && Buffer.byteLength(json) > max) return undefined
  return json
}

/** @internal A stored value with its size, or `undefined` when it is not readable JSON. */
export function decode<T>(json: string): { value: T; bytes: number } | undefined {
  try {
    return { value: JSON.parse(json) as T, bytes: Buffer.byteLength(json) }
  } catch {
    return undefined
  }
}
