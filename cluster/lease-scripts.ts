/*
 * The room lease's atomic steps, as Lua run by Redis (EVALSHA through ioredis' defineCommand). A lease's value is
 * `<nodeId> <epoch>`; every change is a compare-and-set on it, so a node that lost its lease can never renew,
 * release or overwrite the new owner's.
 */

/**
 * KEYS[1] room key, KEYS[2] epoch counter; ARGV[1] node to grant it to, ARGV[2] TTL ms, ARGV[3] the holder that may
 * be replaced (a dead node's lease, '' for none). Returns the lease in force: the existing one, or a new one.
 */
export const ACQUIRE_LEASE = `
local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[3] then return current end
local epoch = redis.call('INCR', KEYS[2])
local lease = ARGV[1] .. ' ' .. epoch
redis.call('SET', KEYS[1], lease, 'PX', ARGV[2])
return lease`;

/**
 * KEYS[1] room key, KEYS[2] epoch counter; ARGV[1] `<nodeId> <epoch>` held, ARGV[2] TTL ms. Renews the lease if it
 * is still this one; re-creates it if it expired meanwhile and nobody holds the room now (a node back from a Redis
 * outage, or a pause, re-asserts its rooms). Returns 1 while held, 0 when another node holds it.
 */
export const RENEW_LEASE = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
-- A Redis that came back empty must not grant this epoch again.
local epoch = tonumber(string.match(ARGV[1], ' (%d+)$'))
if epoch and (tonumber(redis.call('GET', KEYS[2])) or 0) < epoch then redis.call('SET', KEYS[2], epoch) end
return 1`;

/** KEYS[1] room key; ARGV[1] `<nodeId> <epoch>`. Deletes the lease only if it is still this one. */
export const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;
