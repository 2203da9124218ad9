-- Record that a contact was served an experiment's variation: sticky, and counted once.
-- KEYS[1] assignments hash (contact -> "variation|exposed at"), KEYS[2] totals hash,
-- KEYS[3] today's increments hash, KEYS[4..] per metric: covariate hash (contact -> pre value)
-- ARGV[1] contact id, ARGV[2] variation, ARGV[3] time (epoch s), ARGV[4] daily TTL (s),
-- ARGV[5] metric count m, ARGV[6..5+m] metric names, ARGV[6+m..5+2m] pre-exposure values
-- Returns the variation the contact holds (the new one, or the one it already had).
local held = redis.call('HGET', KEYS[1], ARGV[1])
if held then return string.match(held, '^([^|]*)') end
local var = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], var .. '|' .. ARGV[3])
local function add(field, amount)
  redis.call('HINCRBYFLOAT', KEYS[2], field, amount)
  redis.call('HINCRBYFLOAT', KEYS[3], field, amount)
end
add(var .. ':users', 1)
local m = tonumber(ARGV[5])
for i = 1, m do
  local pre = tonumber(ARGV[5 + m + i])
  if pre ~= 0 then
    local name = ARGV[5 + i]
    redis.call('HSET', KEYS[3 + i], ARGV[1], pre)
    add(var .. ':' .. name .. ':pre_sum', pre)
    add(var .. ':' .. name .. ':pre_sum_sq', pre * pre)
  end
end
redis.call('EXPIRE', KEYS[3], ARGV[4])
return var
