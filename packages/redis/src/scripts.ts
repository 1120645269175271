import type { RedisScript } from './connection.js'

/**
 * @internal The first step of a load, atomically: the value with its remaining TTL if it is
 * there, else this caller's lease if nobody holds one (`SET NX PX`). One round trip, and no
 * window between "not there" and "I fetch" in which a holder could fill the key unseen.
 * KEYS: value, lease. ARGV: token, lease ms. Returns `{1, value, pttl}`, `{2}` (lease taken) or
 * `{0}` (another replica holds the lease).
 */
export const getOrLease: RedisScript = {
  name: 'get_or_lease',
  keys: 2,
  lua: `local v = redis.call('GET', KEYS[1])
if v then return { 1, v, redis.call('PTTL', KEYS[1]) } end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return { 2 } end
return { 0 }`,
}

/**
 * @internal The lease holder's last step, atomically: store the value with its TTL, release the
 * lease only if it is still ours (it may have expired and been taken by another replica), and
 * announce the key to the waiters. KEYS: value, lease. ARGV: value, ttl ms, token, channel, message.
 */
export const fillAndRelease: RedisScript = {
  name: 'fill_and_release',
  keys: 2,
  lua: `redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[4], ARGV[5])
return 1`,
}

/**
 * @internal Compare-and-delete of a lease (only its holder releases it), then announce that the
 * holder gave up so waiters fetch by themselves. KEYS: lease. ARGV: token, channel, message.
 */
export const releaseLease: RedisScript = {
  name: 'release_lease',
  keys: 1,
  lua: `local released = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then released = redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return released`,
}
