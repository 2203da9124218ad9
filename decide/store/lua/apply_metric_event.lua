-- Apply one event to an experiment's metrics, per contact and exactly: a contact who converts
-- twice counts once for a binomial metric, and values are summed per contact before squaring.
-- Idempotent: the event is marked seen in this experiment, last (a script that fails half-way
-- leaves no marker, so its retry is applied, not skipped).
-- KEYS[1] seen-marker, KEYS[2] assignments, KEYS[3] totals, KEYS[4] the event day's increments,
-- then per metric i: KEYS[3 + 2i] user values hash, KEYS[4 + 2i] covariate hash
-- ARGV[1] contact id, ARGV[2] event time, ARGV[3] marker TTL, ARGV[4] daily TTL,
-- ARGV[5] event value, ARGV[6] metric count m, then per metric i: ARGV[4 + 3i] name,
-- ARGV[5 + 3i] kind (binomial | count | revenue), ARGV[6 + 3i] window seconds (0 = none)
-- Returns 0 when already seen, 2 when the contact is not in the experiment, else 1.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if not held then
  redis.call('SET', KEYS[1], 1, 'EX', ARGV[3])
  return 2
end
local var, exposed = string.match(held, '^([^|]*)|(.*)$')
exposed = tonumber(exposed)
local ts, value = tonumber(ARGV[2]), tonumber(ARGV[5])
local touched = false
for i = 1, tonumber(ARGV[6]) do
  local name, kind, window = ARGV[4 + 3 * i], ARGV[5 + 3 * i], tonumber(ARGV[6 + 3 * i])
  if ts >= exposed and (window == 0 or ts <= exposed + window) then
    local users, pres = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
    local old = tonumber(redis.call('HGET', users, ARGV[1]) or '0')
    local new = old + value
    if kind == 'binomial' then new = 1 elseif kind == 'count' then new = old + 1 end
    if new ~= old then
      redis.call('HSET', users, ARGV[1], new)
      local pre = tonumber(redis.call('HGET', pres, ARGV[1]) or '0')
      local prefix = var .. ':' .. name .. ':'
      for _, key in ipairs({KEYS[3], KEYS[4]}) do
        redis.call('HINCRBYFLOAT', key, prefix .. 'sum', new - old)
        redis.call('HINCRBYFLOAT', key, prefix .. 'sum_sq', new * new - old * old)
        if pre ~= 0 then redis.call('HINCRBYFLOAT', key, prefix .. 'sum_products', pre * (new - old)) end
      end
      touched = true
    end
  end
end
if touched then redis.call('EXPIRE', KEYS[4], ARGV[4]) end
redis.call('SET', KEYS[1], 1, 'EX', ARGV[3])
return 1
