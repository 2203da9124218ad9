-- Reserve a send against the contact's frequency caps, atomically, so two campaigns deciding
-- before either sends cannot both pass (personalization/pressure.py has the same rule).
-- KEYS[1] sends sorted set (`<nonce>|<channel>` -> send time), KEYS[2] pending hash
-- (nonce -> `<deadline>|<channel>`: released unless `delivered` arrives by the deadline)
-- ARGV[1] now, ARGV[2] nonce, ARGV[3] channel, ARGV[4] send time, ARGV[5] deadline,
-- ARGV[6] longest cap window (s), then per cap: channel ('*' = every messaging channel),
-- max, window (s).
-- Returns 1 when reserved, or {0, index of the cap that blocks (1-based)}.
local now, send_at = tonumber(ARGV[1]), tonumber(ARGV[4])
local channel = ARGV[3]
local longest = tonumber(ARGV[6])

-- Reservations whose send never happened no longer count.
local pending = redis.call('HGETALL', KEYS[2])
for i = 1, #pending, 2 do
  local deadline, ch = string.match(pending[i + 1], '^([^|]*)|(.*)$')
  if tonumber(deadline) < now then
    redis.call('ZREM', KEYS[1], pending[i] .. '|' .. ch)
    redis.call('HDEL', KEYS[2], pending[i])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - longest))

local function applies(rule_channel, ch)
  if rule_channel == '*' then return ch ~= 'web' end
  return rule_channel == ch
end

local rule = 0
for i = 7, #ARGV, 3 do
  rule = rule + 1
  local rule_channel, max, window = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if applies(rule_channel, channel) then
    local near = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. (send_at - window),
                            '(' .. (send_at + window))
    local count = 0
    for _, member in ipairs(near) do
      if applies(rule_channel, string.match(member, '|([^|]*)$')) then count = count + 1 end
    end
    if count >= max then return {0, rule} end
  end
end
redis.call('ZADD', KEYS[1], send_at, ARGV[2] .. '|' .. channel)
redis.call('HSET', KEYS[2], ARGV[2], ARGV[5] .. '|' .. channel)
local ttl = math.ceil(math.max(send_at - now, 0) + longest) + 3600
for _, key in ipairs(KEYS) do  -- only ever extend: a later send may need the key longer
  if redis.call('TTL', key) < ttl then redis.call('EXPIRE', key, ttl) end
end
return 1
