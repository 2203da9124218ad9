-- Apply one event to the arm of the decision it belongs to: a trial at its exposure, and the
-- first reward inside the window that starts at the exposure, so sum <= n always. Idempotent
-- by the decision's state, so retries and duplicates never count twice; and the outcome does
-- not depend on the order events arrive in (clients' clocks differ, batches are retried): the
-- exposure is the earliest exposure or reward seen (a reward proves the content was shown by
-- then), the reward is the earliest reward, and it counts only if it lies inside the window
-- from that exposure. An earlier exposure arriving late can thus take back a counted reward,
-- and an earlier reward replaces a counted one's value.
-- KEYS[1] decision state hash: x (exposed at), r (rewarded), rt (reward time), rv (its value);
-- KEYS[2] outcome log stream, KEYS[3] the set naming the placement's statistics hashes,
-- KEYS[4..] arm statistics hashes to count in (segment, population, daily buckets)
-- ARGV[1] arm, ARGV[2] kind ("exposure" | "reward"), ARGV[3] event time (epoch seconds),
-- ARGV[4] reward value, ARGV[5] reward window (seconds), ARGV[6] state TTL (seconds),
-- ARGV[7] how many of KEYS[4..] are kept forever (the rest are daily buckets),
-- ARGV[8] daily bucket TTL (seconds), ARGV[9] outcome log cap ("0": no log), ARGV[10] nonce
-- Placements exposed "on_decide" send their exposure through here too, at decision time.
-- Returns 1 when a counter changed, 0 when it was already applied, -1 when outside the window.
local arm, kind, ts = ARGV[1], ARGV[2], tonumber(ARGV[3])
local window, kept = tonumber(ARGV[5]), tonumber(ARGV[7])
local state = redis.call('HMGET', KEYS[1], 'x', 'r', 'rt', 'rv')
local exposed_at = tonumber(state[1])
-- A reward counted before its time was kept ('r' alone) is final: nothing to compare with.
local rewarded, reward_at, reward_value = state[2], tonumber(state[3]), tonumber(state[4])

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

-- The exposure is the earliest seen: counted once, moved back by anything earlier.
local function expose()
  if not exposed_at then
    count('n', 1)
    log('exposure', 0)
  end
  redis.call('HSET', KEYS[1], 'x', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[6])
  exposed_at = ts
end

if kind == 'exposure' then
  if exposed_at and ts >= exposed_at then return 0 end
  expose()
  if reward_at and reward_at > exposed_at + window then
    -- the counted reward lies outside the window that really started earlier
    count('sum', -reward_value)
    count('sum_sq', -reward_value * reward_value)
    redis.call('HDEL', KEYS[1], 'r', 'rt', 'rv')
    log('revoke', 0)
  end
  return 1
end

if rewarded and (not reward_at or ts >= reward_at) then return 0 end
if not exposed_at or ts < exposed_at then expose() end
if ts > exposed_at + window then return -1 end
local value = tonumber(ARGV[4])
local old = reward_at and reward_value or 0
count('sum', value - old)
count('sum_sq', value * value - old * old)
redis.call('HSET', KEYS[1], 'r', 1, 'rt', ARGV[3], 'rv', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[6])
log('reward', ARGV[4])
return 1
