--#include contact_lib
-- Apply one event to everything decide keeps about its contact, once: a retried or duplicated
-- event_id finds its seen-marker and changes nothing. The marker is set last, once the event
-- is applied: a script that fails half-way (a key of the wrong type) leaves no marker, so the
-- retry is not answered `duplicate` for an event never applied.
-- KEYS[1] seen-marker, KEYS[2] the contact's state hash (decide/store/contact_codec.py)
-- ARGV[1] type (its stored name: contact_codec.type_code), ARGV[2] time (epoch s),
-- ARGV[3] marker TTL (s), ARGV[4] value or '', ARGV[5] currency or '',
-- ARGV[6] channels ('email' or 'email,sms' for a suppression), ARGV[7] role: delivered |
-- engage | open | suppress | '', ARGV[8] send slot (-1 = none), ARGV[9] 1 when the event is
-- part of a send (counted once per decision), ARGV[10] the decision's nonce key (9 bytes) or '',
-- ARGV[11] machine-open seconds, ARGV[12] cart 'items|value' or '', ARGV[13] view 'kind:id'
-- or '', ARGV[14] purchase 0/1, ARGV[15] score points, ARGV[16] score half-life (s),
-- ARGV[17] touch 'placement|message' (an exposure) or '', ARGV[18] conversion 0/1,
-- ARGV[19] attribution window (s), ARGV[20] now (epoch s),
-- ARGV[21] stage thresholds 'lead=10,mql=50' in stage order, ARGV[22] every stage, in order,
-- ARGV[23] channel code (contact_codec.CHANNEL_CODES) or '', ARGV[24] the decision's send
-- time, ARGV[25] the decision's expiry, ARGV[26] how long a reserved send stays (s),
-- ARGV[27] 1 when a frequency cap governs the event's channel (for the decision's placement)
-- Returns {applied 0/1, slot sent (-1), slot engaged (-1), channel code delivered or '',
--          channel code engaged or '', touches before a conversion
--          ('placement|message|<channel code>|at', newest first)}: the population priors and
-- attribution are fed from these.
if redis.call('EXISTS', KEYS[1]) == 1 then return {0, -1, -1, '', '', {}} end
local h = KEYS[2]
local at = tonumber(ARGV[2])
local now = tonumber(ARGV[20])
local window = tonumber(ARGV[19])

-- Per type: count and latest time; the earliest sighting of all.
counter_add(h, 't', ARGV[1], 0, 1, at)
local first = tonumber(redis.call('HGET', h, 'f') or '0')
if first == 0 or at < first then redis.call('HSET', h, 'f', at) end

if ARGV[4] ~= '' and ARGV[5] ~= '' then
  redis.call('HINCRBYFLOAT', h, 'r:' .. ARGV[5], ARGV[4])
end

-- Cart: the latest state wins; a purchase after the last update empties it.
local cart = redis.call('HGET', h, 'k')
local cart_at = cart and tonumber(string.match(cart, '([^|]*)$')) or -1
if ARGV[12] ~= '' and at >= cart_at then
  redis.call('HSET', h, 'k', ARGV[12] .. '|' .. ARGV[2])
elseif ARGV[14] == '1' and cart and at >= cart_at then
  redis.call('HSET', h, 'k', '0|0|' .. ARGV[2])
end

-- Recent views, newest first, each once, at most 10 and 64 bytes: a longer value would turn
-- the whole hash from a compact listpack into a hash table (hash-max-listpack-value 64).
if ARGV[13] ~= '' then
  local sep = '\31'
  local items, size = {ARGV[13]}, #ARGV[13]
  for item in string.gmatch(redis.call('HGET', h, 'v') or '', '[^' .. sep .. ']+') do
    if item ~= ARGV[13] and #items < 10 and size + 1 + #item <= 64 then
      items[#items + 1] = item
      size = size + 1 + #item
    end
  end
  redis.call('HSET', h, 'v', table.concat(items, sep))
end

-- Lead score with exponential decay (personalization/scoring.py add_points): an event older
-- than the last update is decayed to it, so the order events arrive in does not matter.
local points = tonumber(ARGV[15])
if points ~= 0 then
  local half = tonumber(ARGV[16])
  local score = tonumber(redis.call('HGET', h, 's') or '0')
  local score_at = tonumber(redis.call('HGET', h, 'a') or '-1')
  if score_at < 0 then
    score, score_at = points, at
  elseif at >= score_at then
    score = score * math.pow(0.5, (at - score_at) / half) + points
    score_at = at
  else
    score = score + points * math.pow(0.5, (score_at - at) / half)
  end
  redis.call('HSET', h, 's', tostring(score), 'a', tostring(score_at))
  -- The lifecycle stage is a high-water mark: a score that decays later never demotes it.
  if ARGV[21] ~= '' then
    local rank, i, best = {}, 0, nil
    for name in string.gmatch(ARGV[22], '[^,]+') do i = i + 1; rank[name] = i end
    for name, threshold in string.gmatch(ARGV[21], '([^,=]+)=([^,]+)') do
      if score >= tonumber(threshold) then best = name end
    end
    local have = redis.call('HGET', h, 'g')
    if best and (not have or (rank[best] or 0) > (rank[have] or 0)) then
      redis.call('HSET', h, 'g', best)
    end
  end
end

local role = ARGV[7]
if role == 'suppress' then
  for channel in string.gmatch(ARGV[6], '[^,]+') do
    redis.call('HSETNX', h, 'x:' .. channel, ARGV[2])
  end
end

-- Recent sends and exposures: read once, changed, pruned and written back once.
local code = ARGV[23]
local chan = code ~= '' and string.byte(code) or 0
local nonce, send_at = ARGV[10], tonumber(ARGV[24])
local is_send = ARGV[9] == '1' and nonce ~= '' and role ~= 'suppress'
local entries, had
if is_send or ARGV[17] ~= '' or ARGV[18] == '1' then entries, had = entries_get(h) end

-- Touches for attribution: what was exposed, and the ones a conversion follows in its window.
local touches = {}
if ARGV[18] == '1' then
  local names = names_get(h)
  local found = {}
  for i, e in ipairs(entries) do
    if has(e.flags, TOUCH) and names[e.place] and e.touch_at <= at
        and at - e.touch_at <= window then
      found[#found + 1] = {e.touch_at, i, e}
    end
  end
  table.sort(found, function(a, b)
    if a[1] ~= b[1] then return a[1] > b[1] end
    return a[2] > b[2]
  end)
  for _, t in ipairs(found) do
    local e = t[3]
    local c = e.chan > 0 and string.char(e.chan) or ''
    touches[#touches + 1] = names[e.place] .. '|' .. c .. '|' .. e.touch_at
  end
end

-- A send and its engagement, attributed to the slot of the send (not the hour of the open).
local slot = tonumber(ARGV[8])
local function bump(engaged)
  if slot < 0 then return end
  local data, had_h = blob_get(h, 'h')
  local pos, byte = nil, 0
  for i = 1, #data - 1, 2 do
    if string.byte(data, i) == slot then pos, byte = i, string.byte(data, i + 1) end
  end
  local s, e = math.floor(byte / 16), byte % 16
  if engaged then
    if e < s then e = e + 1 end
  else
    if s == 15 then s, e = 7, math.floor(e / 2) end  -- halve: old sends weigh less
    s = s + 1
  end
  local pair = string.char(slot, s * 16 + e)
  if pos then
    data = string.sub(data, 1, pos - 1) .. pair .. string.sub(data, pos + 2)
  else
    data = data .. pair
  end
  blob_set(h, 'h', data, had_h)
end

-- Per-send state (contact_codec.Entry, found by the decision's nonce and send time): the
-- first event of a send counts it, the first human engagement counts once.
local sent, engaged_slot, delivered_on, engaged_on = -1, -1, '', ''
if is_send then
  local e = find_live(entries, nonce)
  if not e then
    e = {flags = LIVE, chan = chan, place = 0, send_at = send_at, touch_at = 0, nonce = nonce,
         delivered = 0, expires = tonumber(ARGV[25])}
    entries[#entries + 1] = e
  end
  if not has(e.flags, COUNTED) then
    -- The first event of this send, delivered or not: a lost `delivered` still counts the send.
    counter_add(h, 'c', code, 1, 0)
    bump(false)
    -- The reservation is a real send now (the field held its deadline), on the channel it went
    -- out on: a fallback's send counts against that channel's caps, not the primary's, and a
    -- send whose reservation lapsed before its late `delivered` counts again.
    e.flags = bit.bor(bit.band(e.flags, bit.bnot(PENDING + CAP)), COUNTED,
                      ARGV[27] == '1' and CAP or 0)
    if chan ~= 0 then e.chan = chan end
    e.delivered = (role == 'delivered') and at or 0
    e.expires = math.max(e.expires, tonumber(ARGV[25]))
    sent, delivered_on = slot, code
  end
  if role == 'engage' or role == 'open' then
    local machine = role == 'open' and e.delivered > 0
      and at - e.delivered < tonumber(ARGV[11])
    if machine then
      counter_add(h, 't', 'Z', 0, 1)
    elseif not has(e.flags, ENGAGED) then
      counter_add(h, 'c', code, 0, 1)
      bump(true)
      e.flags = bit.bor(e.flags, ENGAGED)
      engaged_slot, engaged_on = slot, code
    end
  end
end
-- After the send's own entry exists, so its exposure lands on it.
if ARGV[17] ~= '' then add_touch(h, entries, nonce, ARGV[17], chan, at) end
if entries and (is_send or ARGV[17] ~= '') then
  entries_put(h, entries, had, now, window, tonumber(ARGV[26]))
end
redis.call('SET', KEYS[1], 1, 'EX', ARGV[3])
return {1, sent, engaged_slot, delivered_on, engaged_on, touches}
