-- Apply one event to the arm of the decision it belongs to: trials at exposure, the first
-- reward inside the window (which starts at the exposure, or at the reward if that is earlier). Idempotent by the decision's state, so retries and duplicates
-- never count twice and sum <= n always holds.
-- KEYS[1] decision state hash, KEYS[2] outcome log stream, KEYS[3] the set naming the
-- placement's statistics hashes, KEYS[4..] arm statistics hashes to count in (segment,
-- population, daily buckets)
-- ARGV[1] arm, ARGV[2] kind ("exposure" | "reward"), ARGV[3] event time (epoch seconds),
-- ARGV[4] reward value, ARGV[5] reward window (seconds), ARGV[6] state TTL (seconds),
-- ARGV[7] how many of KEYS[4..] are kept forever (the rest are daily buckets),
-- ARGV[8] daily bucket TTL (seconds), ARGV[9] outcome log cap ("0": no log), ARGV[10] nonce
-- Placements exposed "on_decide" send their exposure through here too, at decision time.
-- Returns 1 when a counter changed, 0 when it was already applied, -1 when outside the window.
local arm, kind, ts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local kept = tonumber(ARGV[7])
local exposed_at = tonumber(redis.call('HGET', KEYS[1], 'x'))

local function count(field, amount)
  for i = 4, #KEYS do
    redis.call('HINCRBYFLOAT', KEYS[i], arm .. ':' .. field, amount)
    redis.call('SADD', KEYS[3], KEYS[i])
    if i > 3 + kept then redis.call('EXPIRE', KEYS[i], ARGV[8]) end
  end
end

local function log(what, value)
  if ARGV[9] ~= '0' then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[9], '*',
               'd', ARGV[10], 'k', what, 'v', value, 't', ARGV[3])
  end
end

local function expose(at)
  redis.call('HSET', KEYS[1], 'x', at)
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  count('n', 1)
  log('exposure', 0)
end

if kind == 'exposure' then
  if exposed_at then return 0 end
  expose(ARGV[3])
  return 1
end

if redis.call('HEXISTS', KEYS[1], 'r') == 1 then return 0 end
if not exposed_at then
  -- a reward proves the content reached the contact, even if its exposure event is late or lost
  expose(ARGV[3])
  exposed_at = ts
end
if ts < exposed_at then
  -- A reward proves the content was shown by then: its exposure event was only applied first
  -- (another client's clock, or a retried batch). The exposure moves back, so the outcome does
  -- not depend on the order the two arrive in.
  redis.call('HSET', KEYS[1], 'x', ARGV[3])
  exposed_at = ts
end
if ts > exposed_at + tonumber(ARGV[5]) then return -1 end
local value = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'r', 1)
redis.call('EXPIRE', KEYS[1], ARGV[6])
count('sum', value)
count('sum_sq', value * value)
log('reward', ARGV[4])
return 1
