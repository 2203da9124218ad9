-- Apply one event to everything decide keeps about its contact, once: the seen-marker is set
-- first, for the dedup window, so a retried or duplicated event_id changes nothing.
-- KEYS[1] seen-marker, KEYS[2] behaviour hash, KEYS[3] send-slot histogram (168 bytes),
-- KEYS[4] per-send state hash,
-- KEYS[5] pending reservations hash, KEYS[6] touches list (exposures, newest first)
-- ARGV[1] type, ARGV[2] time (epoch s), ARGV[3] marker TTL (s), ARGV[4] value or '',
-- ARGV[5] currency or '', ARGV[6] channels ('email' or 'email,sms' for a suppression),
-- ARGV[7] role: delivered | engage | open | suppress | '', ARGV[8] send slot (-1 = none),
-- ARGV[9] decision nonce or '', ARGV[10] send-state TTL (s), ARGV[11] machine-open seconds,
-- ARGV[12] cart 'items|value' or '', ARGV[13] view 'kind:id' or '', ARGV[14] purchase 0/1,
-- ARGV[15] score points, ARGV[16] score half-life (s),
-- ARGV[17] touch 'placement|message|channel' (an exposure) or '', ARGV[18] conversion 0/1,
-- ARGV[19] attribution window (s), ARGV[20] now (epoch s),
-- ARGV[21] stage thresholds 'lead=10,mql=50' in stage order, ARGV[22] every stage, in order
-- Returns {applied 0/1, slot sent (-1), slot engaged (-1), channel delivered or '',
--          channel engaged or '', touches before a conversion}: the population priors and
-- attribution are fed from these.
if not redis.call('SET', KEYS[1], 1, 'NX', 'EX', ARGV[3]) then return {0, -1, -1, '', '', {}} end
local beh = KEYS[2]
local at = tonumber(ARGV[2])
local kind = ARGV[1]

local function raise_to(field, value)  -- keep the latest time
  local have = tonumber(redis.call('HGET', beh, field) or '-1')
  if value > have then redis.call('HSET', beh, field, value) end
end

redis.call('HINCRBY', beh, 'n:' .. kind, 1)
raise_to('last:' .. kind, at)
raise_to('last_seen', at)
local first = tonumber(redis.call('HGET', beh, 'first_seen') or '0')
if first == 0 or at < first then redis.call('HSET', beh, 'first_seen', at) end

if ARGV[4] ~= '' and ARGV[5] ~= '' then
  redis.call('HINCRBYFLOAT', beh, 'rev:' .. ARGV[5], ARGV[4])
end

-- Cart: the latest state wins; a purchase after the last update empties it.
local cart = redis.call('HGET', beh, 'cart')
local cart_at = cart and tonumber(string.match(cart, '([^|]*)$')) or -1
if ARGV[12] ~= '' and at >= cart_at then
  redis.call('HSET', beh, 'cart', ARGV[12] .. '|' .. ARGV[2])
elseif ARGV[14] == '1' and cart and at >= cart_at then
  redis.call('HSET', beh, 'cart', '0|0|' .. ARGV[2])
end

-- Recent views, newest first, each once, at most 10 and 64 bytes: a longer value would turn
-- the whole hash from a compact listpack into a hash table (hash-max-listpack-value 64).
if ARGV[13] ~= '' then
  local sep = '\31'
  local items, size = {ARGV[13]}, #ARGV[13]
  for item in string.gmatch(redis.call('HGET', beh, 'views') or '', '[^' .. sep .. ']+') do
    if item ~= ARGV[13] and #items < 10 and size + 1 + #item <= 64 then
      items[#items + 1] = item
      size = size + 1 + #item
    end
  end
  redis.call('HSET', beh, 'views', table.concat(items, sep))
end

-- Lead score with exponential decay (personalization/scoring.py add_points): an event older
-- than the last update is decayed to it, so the order events arrive in does not matter.
local points = tonumber(ARGV[15])
if points ~= 0 then
  local half = tonumber(ARGV[16])
  local score = tonumber(redis.call('HGET', beh, 'score') or '0')
  local score_at = tonumber(redis.call('HGET', beh, 'score_at') or '-1')
  if score_at < 0 then
    score, score_at = points, at
  elseif at >= score_at then
    score = score * math.pow(0.5, (at - score_at) / half) + points
    score_at = at
  else
    score = score + points * math.pow(0.5, (score_at - at) / half)
  end
  redis.call('HSET', beh, 'score', tostring(score), 'score_at', tostring(score_at))
  -- The lifecycle stage is a high-water mark: a score that decays later never demotes it.
  if ARGV[21] ~= '' then
    local rank, i, best = {}, 0, nil
    for name in string.gmatch(ARGV[22], '[^,]+') do i = i + 1; rank[name] = i end
    for name, threshold in string.gmatch(ARGV[21], '([^,=]+)=([^,]+)') do
      if score >= tonumber(threshold) then best = name end
    end
    local have = redis.call('HGET', beh, 'stage')
    if best and (not have or (rank[best] or 0) > (rank[have] or 0)) then
      redis.call('HSET', beh, 'stage', best)
    end
  end
end

-- Touches for attribution: what was exposed, and the ones a conversion follows in its window.
local window = tonumber(ARGV[19])
if ARGV[17] ~= '' then
  redis.call('LPUSH', KEYS[6], ARGV[17] .. '|' .. ARGV[2])
  redis.call('LTRIM', KEYS[6], 0, 19)
  while true do  -- the oldest touches fall out of the window
    local oldest = redis.call('LINDEX', KEYS[6], -1)
    if not oldest or tonumber(string.match(oldest, '|([^|]*)$')) >= at - window then break end
    redis.call('RPOP', KEYS[6])
  end
  redis.call('EXPIRE', KEYS[6], math.ceil(window))
end
local touches = {}
if ARGV[18] == '1' then
  for _, touch in ipairs(redis.call('LRANGE', KEYS[6], 0, -1)) do
    local touched = tonumber(string.match(touch, '|([^|]*)$'))
    if touched <= at and at - touched <= window then touches[#touches + 1] = touch end
  end
end

local role = ARGV[7]
if role == 'suppress' then
  for channel in string.gmatch(ARGV[6], '[^,]+') do
    redis.call('HSETNX', beh, 'sup:' .. channel, ARGV[2])
  end
  return {1, -1, -1, '', '', touches}
end
if ARGV[9] == '' or ARGV[6] == '' then return {1, -1, -1, '', '', touches} end

-- A send and its engagement, attributed to the slot of the send (not the hour of the open).
local channel = ARGV[6]
local slot = tonumber(ARGV[8])
local function bump(engaged)
  if slot < 0 then return end
  local byte = string.byte(redis.call('GETRANGE', KEYS[3], slot, slot)) or 0
  local s, e = math.floor(byte / 16), byte % 16
  if engaged then
    if e < s then e = e + 1 end
  else
    if s == 15 then s, e = 7, math.floor(e / 2) end  -- halve: old sends weigh less
    s = s + 1
  end
  redis.call('SETRANGE', KEYS[3], slot, string.char(s * 16 + e))
end

-- Per-send state lives in one small hash (nonce -> `<expires>|<delivered at>|<engaged>`),
-- pruned here of sends whose decision expired: one key per contact, not one per send.
local now = tonumber(ARGV[20])
local state = redis.call('HGET', KEYS[4], ARGV[9])
local sent, engaged_slot, delivered_on, engaged_on = -1, -1, '', ''
if not state then
  -- The first event of this send, delivered or not: a lost `delivered` still counts the send.
  redis.call('HINCRBY', beh, 'ch:' .. channel .. ':d', 1)
  bump(false)
  redis.call('HDEL', KEYS[5], ARGV[9])  -- the reservation is a real send now
  sent, delivered_on = slot, channel
  local states = redis.call('HGETALL', KEYS[4])
  for i = 1, #states, 2 do
    if tonumber(string.match(states[i + 1], '^([^|]*)')) < now then
      redis.call('HDEL', KEYS[4], states[i])
    end
  end
  local delivered_at = (role == 'delivered') and ARGV[2] or '0'
  state = math.floor(now + tonumber(ARGV[10])) .. '|' .. delivered_at .. '|0'
  redis.call('HSET', KEYS[4], ARGV[9], state)
  if redis.call('TTL', KEYS[4]) < tonumber(ARGV[10]) then
    redis.call('EXPIRE', KEYS[4], ARGV[10])
  end
end
if role == 'engage' or role == 'open' then
  local expires, delivered_at, engaged = string.match(state, '^([^|]*)|([^|]*)|(.*)$')
  local machine = role == 'open' and tonumber(delivered_at) > 0
    and at - tonumber(delivered_at) < tonumber(ARGV[11])
  if machine then
    redis.call('HINCRBY', beh, 'n:machine_open', 1)
  elseif engaged == '0' then
    redis.call('HINCRBY', beh, 'ch:' .. channel .. ':e', 1)
    bump(true)
    redis.call('HSET', KEYS[4], ARGV[9], expires .. '|' .. delivered_at .. '|1')
    engaged_slot, engaged_on = slot, channel
  end
end
return {1, sent, engaged_slot, delivered_on, engaged_on, touches}
