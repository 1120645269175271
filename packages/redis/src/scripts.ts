import type { RedisScript } from './connection.js'

// The shared store's scripts. An entry is stored as `<fresh-until>|<json>`: the Redis server's
// own time (`TIME`, in ms) until which it is a hit, then the value. Freshness is decided inside
// the scripts, so it never depends on a replica's clock; the key's `PX` is how long the entry is
// kept in all (past its freshness it is handed to one fetcher as stale, for revalidation).
// `TIME` before a write is allowed: scripts replicate their effects (Redis 5 and later).

/** Private: the Lua lines that set `now` to the server's time in ms. */
const now = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`

/**
 * @internal The first step of a load, atomically: a fresh entry with its remaining freshness;
 * else this caller's lease if nobody holds one (`SET NX PX`), with the stale entry if one is
 * kept; else "someone else is fetching". One round trip, and no window between "not there" and
 * "I fetch" in which a holder could fill the key unseen. An entry that does not parse (another
 * format) counts as absent and is overwritten by the fill.
 * KEYS: value, lease. ARGV: token, lease ms. Returns `{1, json, fresh ms left}` (hit), `{2}`
 * (lease taken, cold key), `{3, json}` (lease taken, stale entry) or `{0}` (another replica holds
 * the lease).
 */
export const getOrLease: RedisScript = {
  name: 'get_or_lease_v2',
  keys: 2,
  lua: `local e = redis.call('GET', KEYS[1])
local sep = e and string.find(e, '|', 1, true)
local freshUntil = sep and tonumber(string.sub(e, 1, sep - 1))
if freshUntil then
  ${now.replace('\n', '\n  ')}
  if now < freshUntil then return { 1, string.sub(e, sep + 1), freshUntil - now } end
  if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return { 3, string.sub(e, sep + 1) } end
  return { 0 }
end
if redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return { 2 } end
return { 0 }`,
}

/**
 * @internal The lease holder's last step, atomically: store the entry fresh for `freshMs` of the
 * server's time and kept `keepMs`, release the lease only if it is still ours (it may have
 * expired and been taken by another replica), and announce the key to the waiters.
 * KEYS: value, lease. ARGV: json, fresh ms, keep ms, token, channel, message.
 */
export const fillAndRelease: RedisScript = {
  name: 'fill_and_release_v2',
  keys: 2,
  lua: `${now}
redis.call('SET', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])) .. '|' .. ARGV[1], 'PX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[4] then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[5], ARGV[6])
return 1`,
}

/**
 * @internal `set`: stores an entry fresh for `freshMs` of the server's time, kept `keepMs`.
 * KEYS: value. ARGV: json, fresh ms, keep ms.
 */
export const putEntry: RedisScript = {
  name: 'put_entry_v2',
  keys: 1,
  lua: `${now}
redis.call('SET', KEYS[1], string.format('%.0f', now + tonumber(ARGV[2])) .. '|' .. ARGV[1], 'PX', ARGV[3])
return 1`,
}

/**
 * @internal Compare-and-delete of a lease (only its holder releases it), optionally dropping the
 * entry (a fetch whose answer must not be stored replaces a stale one with nothing), then
 * announce that the holder gave up so waiters fetch by themselves.
 * KEYS: lease, value. ARGV: token, channel, message, `1` to drop the entry.
 */
export const releaseLease: RedisScript = {
  name: 'release_lease_v2',
  keys: 2,
  lua: `local released = 0
if redis.call('GET', KEYS[1]) == ARGV[1] then released = redis.call('DEL', KEYS[1]) end
if ARGV[4] == '1' then redis.call('DEL', KEYS[2]) end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return released`,
}
