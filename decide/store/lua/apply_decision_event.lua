-- Apply one event to the arm of the decision it belongs to: trials at exposure, the first
-- reward inside the window. Idempotent by the decision's state, so retries and duplicates
-- never count twice and sum <= n always holds.
-- KEYS[1] arm statistics hash, KEYS[2] decision state hash
-- ARGV[1] arm, ARGV[2] kind ("exposure" | "reward"), ARGV[3] event time (epoch seconds),
-- ARGV[4] reward value, ARGV[5] reward window (seconds), ARGV[6] state TTL (seconds)
-- Placements exposed "on_decide" send their exposure through here too, at decision time.
-- Returns 1 when a counter changed, 0 when it was already applied, -1 when outside the window.
local arm, kind, ts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local exposed_at = tonumber(redis.call('HGET', KEYS[2], 'x'))

local function expose(at)
  redis.call('HSET', KEYS[2], 'x', at)
  redis.call('EXPIRE', KEYS[2], ARGV[6])
  redis.call('HINCRBY', KEYS[1], arm .. ':n', 1)
end

if kind == 'exposure' then
  if exposed_at then return 0 end
  expose(ARGV[3])
  return 1
end

if redis.call('HEXISTS', KEYS[2], 'r') == 1 then return 0 end
if not exposed_at then
  -- a reward proves the content reached the contact, even if its exposure event is late or lost
  expose(ARGV[3])
  exposed_at = ts
end
if ts < exposed_at or ts > exposed_at + tonumber(ARGV[5]) then return -1 end
local value = tonumber(ARGV[4])
redis.call('HSET', KEYS[2], 'r', 1)
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('HINCRBYFLOAT', KEYS[1], arm .. ':sum', value)
redis.call('HINCRBYFLOAT', KEYS[1], arm .. ':sum_sq', value * value)
return 1
