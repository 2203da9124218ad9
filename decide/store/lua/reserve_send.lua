--#include contact_lib
-- Reserve a send against the contact's frequency caps, atomically, so two campaigns deciding
-- before either sends cannot both pass (personalization/pressure.py has the same rule).
-- KEYS[1] the contact's state hash: reserved sends are its entries flagged CAP
-- (contact_codec.Entry); a reservation stays PENDING, and is released unless an event of the
-- send arrives by its deadline.
-- ARGV[1] now, ARGV[2] the decision's nonce key (9 bytes), ARGV[3] channel code, ARGV[4] send
-- time, ARGV[5] deadline, ARGV[6] longest cap window (s), ARGV[7] the decision's expiry,
-- ARGV[8] attribution window (s), ARGV[9] the code of the channel no cross-channel cap
-- counts (web), then per cap: channel code ('*' = every messaging channel), max, window (s).
-- Returns 1 when reserved, or {0, index of the cap that blocks (1-based)}.
local now, send_at = tonumber(ARGV[1]), tonumber(ARGV[4])
local chan = string.byte(ARGV[3])
local longest = tonumber(ARGV[6])
local web = string.byte(ARGV[9])
local h = KEYS[1]

local entries, had = entries_get(h)
-- Reservations whose send never happened no longer count, nor sends older than any window.
local reserved = {}
for _, e in ipairs(entries) do
  local released = has(e.flags, PENDING) and e.delivered < now
  if has(e.flags, CAP) and not released and e.send_at >= now - longest then
    reserved[#reserved + 1] = e
  end
end

local function applies(rule_channel, ch)
  if rule_channel == '*' then return ch ~= web end
  return string.byte(rule_channel) == ch
end

local rule = 0
for i = 10, #ARGV, 3 do
  rule = rule + 1
  local rule_channel, max, window = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if applies(rule_channel, chan) then
    local count = 0
    for _, e in ipairs(reserved) do
      if e.send_at > send_at - window and e.send_at < send_at + window
          and applies(rule_channel, e.chan) then
        count = count + 1
      end
    end
    if count >= max then
      entries_put(h, entries, had, now, tonumber(ARGV[8]), longest)
      return {0, rule}
    end
  end
end
entries[#entries + 1] = {flags = LIVE + CAP + PENDING, chan = chan, place = 0,
                         send_at = send_at, touch_at = 0, nonce = ARGV[2],
                         delivered = tonumber(ARGV[5]), expires = tonumber(ARGV[7])}
entries_put(h, entries, had, now, tonumber(ARGV[8]), longest)
return 1
