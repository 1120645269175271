import { createHash } from 'node:crypto'

/**
 * The prefix of every key and channel this package writes: the product, then a version that
 * changes whenever the stored format does, so a deploy with a new format never reads old values.
 */
export const keyPrefix = 'userevents:v1:'

/** Keys longer than this are replaced by their SHA-1 (Redis keys should stay short). */
const MAX_KEY_LENGTH = 256

/**
 * @internal The keys of one logical key in one namespace: the value, its single-flight lease,
 * and the namespace's pub/sub channel announcing filled keys.
 */
export function keysOf(namespace: string, key: string) {
  const k = key.length > MAX_KEY_LENGTH ? `#${createHash('sha1').update(key).digest('hex')}` : key
  const base = `${keyPrefix}${namespace}:`
  return { value: `${base}v:${k}`, lease: `${base}l:${k}`, id: k }
}

/** @internal The channel on which a namespace's holders announce `1<key>` (filled) or `0<key>` (gave up). */
export function channelOf(namespace: string): string {
  return `${keyPrefix}${namespace}:filled`
}
