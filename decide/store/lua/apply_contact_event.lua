-- Count one event in a contact's behaviour, once: the seen-marker is set first, for the
-- dedup window, so a retried or duplicated event_id changes nothing.
-- KEYS[1] seen-marker, KEYS[2] behaviour hash
-- ARGV[1] event type, ARGV[2] event time (epoch seconds), ARGV[3] marker TTL (seconds)
-- Returns 1 when applied, 0 when the event was already seen.
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[3]) then return 0 end
local ts = tonumber(ARGV[2])
redis.call('HINCRBY', KEYS[2], 'n:' .. ARGV[1], 1)
local last = tonumber(redis.call('HGET', KEYS[2], 'last:' .. ARGV[1]) or '0')
if ts > last then redis.call('HSET', KEYS[2], 'last:' .. ARGV[1], ARGV[2]) end
local seen = tonumber(redis.call('HGET', KEYS[2], 'last_seen') or '0')
if ts > seen then redis.call('HSET', KEYS[2], 'last_seen', ARGV[2]) end
return 1
