import type { RedisScript } from './connection.js'

/**
 * @internal The fleet circuit of one operation, as Lua scripts (loaded once per connection by
 * `connection.script`, i.e. ioredis `defineCommand`). Every multi-step change runs atomically in
 * Redis, and time is Redis' own (`TIME`), so replicas with skewed clocks still agree on windows
 * and reset times.
 *
 * Keys of one circuit (all scripts take the five, in this order, so any of them can build a view):
 * 1. `s` hash: `s` = absent (closed) | `open` | `half` | `ramp`; `u` = reset time (ms, Redis
 *    clock) while open; `a` = ramp allowance while ramping. TTL: `stateTtlMs` after each change.
 * 2. `p` the probe lease: `SET p token NX PX leaseMs`; released only by its token.
 * 3. `f` sorted set of recent failures (member unique per report, score = time), trimmed to the
 *    last `failureThreshold` and to the window. TTL: the window.
 * 4. `r` sorted set of replicas with a failure in the window (score = their last failure). TTL:
 *    the window.
 * 5. `q` sorted set of ramp slots in use (member = token, score = expiry). TTL: the longest lease.
 *
 * Changes are published on the namespace's channel as `state \n retryAfterMs \n circuit`, where
 * `circuit` is the JSON `[name, operation]` the caller passed.
 */
const prelude = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function view()
  local s = redis.call('HGET', KEYS[1], 's')
  if not s then return {'closed', 0} end
  if s == 'ramp' then return {'recovering', 0} end
  if s == 'half' then
    local left = redis.call('PTTL', KEYS[2])
    if left > 0 then return {'halfOpen', left} end
    return {'open', 0}
  end
  local u = tonumber(redis.call('HGET', KEYS[1], 'u')) or 0
  return {'open', math.max(0, u - now)}
end
local function publish(channel, state, retry, circuit)
  redis.call('PUBLISH', channel, state .. '\\n' .. retry .. '\\n' .. circuit)
end
local function open(resetMs, stateTtlMs, channel, circuit)
  redis.call('HSET', KEYS[1], 's', 'open', 'u', now + resetMs)
  redis.call('HDEL', KEYS[1], 'a')
  redis.call('PEXPIRE', KEYS[1], resetMs + stateTtlMs)
  redis.call('DEL', KEYS[3], KEYS[4], KEYS[5])
  publish(channel, 'open', resetMs, circuit)
  return {'open', resetMs}
end
`

/**
 * @internal One failure reported by one replica. In the closed state it is added to the window;
 * the circuit opens when the window holds ≥ `threshold` failures from ≥ `quorum` distinct
 * replicas. In any other state the report changes nothing (the probe and ramp outcomes come
 * through `release`) and the current view is returned.
 * ARGV: replica, unique member, threshold, windowMs, quorum, resetMs, stateTtlMs, channel, circuit.
 */
export const breakerFailure: RedisScript = {
  name: 'cb_failure',
  keys: 5,
  lua: `${prelude}
if redis.call('HEXISTS', KEYS[1], 's') == 1 then return view() end
local threshold = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local oldest = '(' .. (now - window)
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', oldest)
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(threshold + 1))
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', oldest)
redis.call('ZREMRANGEBYRANK', KEYS[4], 0, -1001)
redis.call('PEXPIRE', KEYS[3], window)
redis.call('PEXPIRE', KEYS[4], window)
if redis.call('ZCARD', KEYS[3]) >= threshold and redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[5]) then
  return open(tonumber(ARGV[6]), tonumber(ARGV[7]), ARGV[8], ARGV[9])
end
return {'closed', 0}`,
}

/**
 * @internal A permit: the single probe lease once the open circuit is past its reset time
 * (`SET NX PX`, so exactly one replica in the fleet gets it per lease), or a slot of the
 * fleet-wide ramp while recovering (expired slots of crashed replicas are dropped first).
 * Returns `{'granted', 'probe'|'ramp'}` or the view that refused it.
 * ARGV: token, leaseMs.
 */
export const breakerAcquire: RedisScript = {
  name: 'cb_acquire',
  keys: 5,
  lua: `${prelude}
local s = redis.call('HGET', KEYS[1], 's')
if not s then return {'closed', 0} end
local lease = tonumber(ARGV[2])
if s == 'ramp' then
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
  if redis.call('ZCARD', KEYS[5]) < tonumber(redis.call('HGET', KEYS[1], 'a')) then
    redis.call('ZADD', KEYS[5], now + lease, ARGV[1])
    if redis.call('PTTL', KEYS[5]) < lease then redis.call('PEXPIRE', KEYS[5], lease) end
    return {'granted', 'ramp'}
  end
  return {'recovering', 0}
end
if s == 'open' and now < (tonumber(redis.call('HGET', KEYS[1], 'u')) or 0) then return view() end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', lease) then
  redis.call('HSET', KEYS[1], 's', 'half')
  return {'granted', 'probe'}
end
return view()`,
}

/**
 * @internal A permit handed back with its outcome. The probe: `success` starts the fleet-wide
 * ramp (allowance 2) or closes the circuit when `rampLimit` ≤ 2, `failure` re-opens it for
 * another reset period, `unused` puts the circuit back to open-past-reset so another replica can
 * probe at once. A ramp slot: `success` doubles the allowance (closing the circuit once it
 * reaches `rampLimit`), `failure` re-opens. A permit that is no longer held (its lease expired,
 * or its ramp ended) changes nothing.
 * ARGV: token, outcome, resetMs, rampLimit, stateTtlMs, channel, circuit.
 */
export const breakerRelease: RedisScript = {
  name: 'cb_release',
  keys: 5,
  lua: `${prelude}
local token, outcome = ARGV[1], ARGV[2]
local resetMs, rampLimit, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local channel, circuit = ARGV[6], ARGV[7]
local s = redis.call('HGET', KEYS[1], 's')
if redis.call('GET', KEYS[2]) == token then
  redis.call('DEL', KEYS[2])
  if s ~= 'half' then return view() end
  if outcome == 'failure' then return open(resetMs, ttl, channel, circuit) end
  if outcome == 'unused' then
    redis.call('HSET', KEYS[1], 's', 'open')
    return view()
  end
  if rampLimit <= 2 then
    redis.call('DEL', KEYS[1], KEYS[5])
    publish(channel, 'closed', 0, circuit)
    return {'closed', 0}
  end
  redis.call('HSET', KEYS[1], 's', 'ramp', 'a', 2)
  redis.call('HDEL', KEYS[1], 'u')
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('DEL', KEYS[5])
  publish(channel, 'recovering', 0, circuit)
  return {'recovering', 0}
end
if s == 'ramp' and redis.call('ZREM', KEYS[5], token) == 1 then
  if outcome == 'failure' then return open(resetMs, ttl, channel, circuit) end
  if outcome == 'success' then
    local a = tonumber(redis.call('HGET', KEYS[1], 'a')) * 2
    if a >= rampLimit then
      redis.call('DEL', KEYS[1], KEYS[5])
      publish(channel, 'closed', 0, circuit)
      return {'closed', 0}
    end
    redis.call('HSET', KEYS[1], 'a', a)
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
end
return view()`,
}

/** @internal The current view of a circuit. ARGV: none. */
export const breakerRead: RedisScript = {
  name: 'cb_read',
  keys: 5,
  lua: `${prelude}
return view()`,
}
