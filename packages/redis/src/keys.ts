import { createHash } from 'node:crypto'

/**
 * The prefix of every key and channel this package writes: the product, then a version that
 * changes whenever the stored format does, so a deploy with a new format never reads old values.
 * v2: the keys one script touches share a Redis Cluster hash tag (`{…}`); v1 keys simply expire.
 */
export const keyPrefix = 'userevents:v2:'

/** Keys longer than this are replaced by their SHA-1 (Redis keys should stay short). */
const MAX_KEY_LENGTH = 256

/**
 * @internal The keys of one logical key in one namespace: the value and its single-flight lease.
 * Both carry the hash tag `{<namespace>:<key>}`, so the scripts that touch both run on one
 * Redis Cluster slot, while different keys still spread over the shards.
 */
export function keysOf(namespace: string, key: string) {
  const id = shortId(key, MAX_KEY_LENGTH)
  const base = `${keyPrefix}{${namespace}:${id}}:`
  return { value: `${base}v`, lease: `${base}l`, id }
}

/**
 * @internal The channel on which a namespace's holders announce `1<key>` (filled) or `0<key>`
 * (gave up). A plain channel, published with `PUBLISH` from the scripts: on a cluster that is
 * broadcast to every node, so one subscription per namespace on any node hears every key.
 */
export function channelOf(namespace: string): string {
  return `${keyPrefix}${namespace}:filled`
}

/**
 * @internal The five keys of one fleet circuit (state, probe lease, failures, replicas, ramp
 * slots; see breaker-scripts.ts), tagged `{<namespace>:<name>|<operation>}` so each circuit's
 * scripts run on one slot and different circuits spread over the shards.
 */
export function breakerKeysOf(namespace: string, name: string, operation: string): string[] {
  const id = shortId(`${name}|${operation}`, MAX_BREAKER_ID_LENGTH)
  const k = `${keyPrefix}{${namespace}:${id}}:cb:`
  return [`${k}s`, `${k}p`, `${k}f`, `${k}r`, `${k}q`]
}

/** @internal The channel of a namespace's fleet circuit changes (plain `PUBLISH`, as above). */
export function breakerChannelOf(namespace: string): string {
  return `${keyPrefix}${namespace}:cb:changes`
}

// Private helpers below.

/** Operation keys longer than this are replaced by their SHA-1 in Redis keys. */
const MAX_BREAKER_ID_LENGTH = 200

/** Private: `raw`, or `#<sha1>` when it is longer than `max`. */
function shortId(raw: string, max: number): string {
  return raw.length > max ? `#${createHash('sha1').update(raw).digest('hex')}` : raw
}

/**
 * @internal The key of one rate-limit bucket (`createRedisRateLimitStore`), tagged
 * `{<namespace>:<bucket>}` so its script runs on one Redis Cluster slot and buckets spread over
 * the shards.
 */
export function rateLimitKeyOf(namespace: string, bucket: string): string {
  return `${keyPrefix}{${namespace}:${shortId(bucket, MAX_BREAKER_ID_LENGTH)}}:rl`
}
