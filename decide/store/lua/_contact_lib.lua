-- Shared by the scripts that write a contact's state hash (scripts.py pastes it in where a
-- script says `--#include contact_lib`). The layout is decide/store/contact_codec.py's.
local CHUNK = 64
local LIVE, CAP, PENDING, COUNTED, ENGAGED, TOUCH, FAR = 1, 2, 4, 8, 16, 32, 64
local WIDTHS = {[0] = {'<I2I2', 4}, {'<I4I2', 6}, {'<I4I4', 8}}
local MAX_TOUCHES = 20

local function has(flags, bit_) return bit.band(flags, bit_) ~= 0 end

-- The hash's fields, read once per script with one HGETALL (a listpack of ~20 small fields):
-- cheaper than an HGET per chunk. Only the chunked parts go through it; blob_set keeps it
-- in step with what it writes.
local loaded = nil
local function fields(h)
  if loaded == nil then
    loaded = {}
    local flat = redis.call('HGETALL', h)
    for i = 1, #flat, 2 do loaded[flat[i]] = flat[i + 1] end
  end
  return loaded
end

-- A byte string kept in 64-byte chunks `<part>0`, `<part>1`…; returns it and the chunk count.
local function blob_get(h, part)
  local all, parts, i = fields(h), {}, 0
  while true do
    local chunk = all[part .. i]
    if not chunk then break end
    parts[#parts + 1] = chunk
    i = i + 1
  end
  return table.concat(parts), i
end

local function blob_set(h, part, data, had)
  local all, args, n = fields(h), {}, 0
  for start = 1, #data, CHUNK do
    local name, chunk = part .. n, string.sub(data, start, start + CHUNK - 1)
    if all[name] ~= chunk then
      args[#args + 1] = name
      args[#args + 1] = chunk
      all[name] = chunk
    end
    n = n + 1
  end
  if #args > 0 then redis.call('HSET', h, unpack(args)) end
  local stale = {}
  for i = n, had - 1 do
    stale[#stale + 1] = part .. i
    all[part .. i] = nil
  end
  if #stale > 0 then redis.call('HDEL', h, unpack(stale)) end
end

-- Named pairs of counters: a header byte `len + 65 * width`, the name, two numbers
-- (width 0: u16 u16, 1: u32 u16, 2: u32 u32). `set_a` raises the first number to at least it.
local function counter_pack(name, a, b)
  local width = 0
  if b > 65535 then width = 2 elseif a > 65535 then width = 1 end
  return string.char(#name + 65 * width) .. name .. struct.pack(WIDTHS[width][1], a, b)
end

local function counter_add(h, part, name, da, db, set_a)
  local data, had = blob_get(h, part)
  local out, pos, found = {}, 1, false
  while pos <= #data do
    local head = string.byte(data, pos)
    local width, size = math.floor(head / 65), head % 65
    local key = string.sub(data, pos + 1, pos + size)
    local a, b = struct.unpack(WIDTHS[width][1], data, pos + 1 + size)
    if key == name then
      found = true
      if set_a then a = math.max(a, set_a) end
      a, b = a + da, b + db
    end
    out[#out + 1] = counter_pack(key, a, b)
    pos = pos + 1 + size + WIDTHS[width][2]
  end
  if not found then out[#out + 1] = counter_pack(name, (set_a or 0) + da, db) end
  blob_set(h, part, table.concat(out), had)
end

-- Recent sends and exposures (contact_codec.Entry).
local function entries_get(h)
  local data, had = blob_get(h, 'q')
  local out, pos = {}, 1
  while pos + 6 <= #data do
    local e = {}
    e.flags, e.chan, e.place, e.send_at = struct.unpack('<BBBI4', data, pos)
    pos = pos + 7
    e.touch_at, e.nonce, e.delivered, e.expires = 0, '', 0, 0
    if has(e.flags, TOUCH) and has(e.flags, FAR) then
      e.touch_at = struct.unpack('<I4', data, pos)
      pos = pos + 4
    elseif has(e.flags, TOUCH) then
      e.touch_at = e.send_at + struct.unpack('<i2', data, pos)
      pos = pos + 2
    end
    if has(e.flags, LIVE) then
      e.nonce = string.sub(data, pos, pos + 8)
      local hours
      e.delivered, hours = struct.unpack('<I4I2', data, pos + 9)
      e.expires = e.send_at + hours * 3600
      pos = pos + 15
    end
    e.flags = bit.band(e.flags, bit.bnot(FAR))
    out[#out + 1] = e
  end
  return out, had
end

-- The `placement|message` names touches point to, by number (1-based): length-prefixed.
local function names_get(h)
  local data, had = blob_get(h, 'm')
  local names, pos = {}, 1
  while pos <= #data do
    local size = string.byte(data, pos)
    names[#names + 1] = string.sub(data, pos + 1, pos + size)
    pos = pos + 1 + size
  end
  return names, had
end

local function u32(x) return math.max(0, math.min(math.floor(tonumber(x) or 0), 4294967295)) end

-- Drop what no longer serves anything, then write the entries back. A reservation past its
-- deadline is released, a decision past its expiry keeps only what caps and attribution
-- need, a reserved send leaves the caps `cap_keep` seconds after it, a touch leaves the
-- attribution window; at most MAX_TOUCHES touches are kept (the newest).
local function entries_put(h, entries, had, now, touch_window, cap_keep)
  local touched = {}
  for _, e in ipairs(entries) do
    if has(e.flags, PENDING) and e.delivered < now then
      e.flags = bit.band(e.flags, bit.bnot(CAP + PENDING))
    end
    if has(e.flags, LIVE) and e.expires < now and not has(e.flags, PENDING) then
      e.flags = bit.band(e.flags, bit.bnot(LIVE + COUNTED + ENGAGED))
    end
    if has(e.flags, CAP) and cap_keep and e.send_at < now - cap_keep then
      e.flags = bit.band(e.flags, bit.bnot(CAP))
    end
    if has(e.flags, TOUCH) and e.touch_at < now - touch_window then
      e.flags = bit.band(e.flags, bit.bnot(TOUCH))
    end
    if has(e.flags, TOUCH) then touched[#touched + 1] = e end
  end
  if #touched > MAX_TOUCHES then
    table.sort(touched, function(a, b) return a.touch_at > b.touch_at end)
    for i = MAX_TOUCHES + 1, #touched do
      touched[i].flags = bit.band(touched[i].flags, bit.bnot(TOUCH))
    end
  end
  -- The names touches refer to: only those still referred to are kept, renumbered.
  local names, names_had = names_get(h)
  local kept, renumber, out = {}, {}, {}
  for _, e in ipairs(entries) do
    if has(e.flags, LIVE) or has(e.flags, CAP) or has(e.flags, TOUCH) then
      local place = 0
      if has(e.flags, TOUCH) and names[e.place] then
        if not renumber[e.place] then
          kept[#kept + 1] = names[e.place]
          renumber[e.place] = #kept
        end
        place = renumber[e.place]
      end
      local flags, send_at, touch = e.flags, u32(e.send_at), ''
      if has(flags, TOUCH) then
        local offset = u32(e.touch_at) - send_at
        if send_at > 0 and offset >= -32768 and offset <= 32767 then
          touch = struct.pack('<i2', offset)
        else
          flags, touch = bit.bor(flags, FAR), struct.pack('<I4', u32(e.touch_at))
        end
      end
      local packed = struct.pack('<BBBI4', flags, e.chan, place, send_at) .. touch
      if has(flags, LIVE) then
        local hours = math.min(math.max(math.ceil((u32(e.expires) - send_at) / 3600), 0), 65535)
        packed = packed .. e.nonce .. struct.pack('<I4I2', u32(e.delivered), hours)
      end
      out[#out + 1] = packed
    end
  end
  blob_set(h, 'q', table.concat(out), had)
  local parts, same = {}, #kept == #names
  for i, name in ipairs(kept) do
    parts[i] = string.char(#name) .. name
    same = same and names[i] == name
  end
  if not same then blob_set(h, 'm', table.concat(parts), names_had) end
end

-- The index of a `placement|message` name in `m`, added when new (before entries_put).
local function place_of(h, name)
  name = string.sub(name, 1, 255)
  local data, had = blob_get(h, 'm')
  local pos, i = 1, 0
  while pos <= #data do
    local size = string.byte(data, pos)
    i = i + 1
    if string.sub(data, pos + 1, pos + size) == name then return i end
    pos = pos + 1 + size
  end
  if i >= 255 then return 0 end
  blob_set(h, 'm', data .. string.char(#name) .. name, had)
  return i + 1
end

-- The live entry of a decision (the nonce key is the decision's whole nonce).
local function find_live(entries, nonce)
  for _, e in ipairs(entries) do
    if has(e.flags, LIVE) and e.nonce == nonce then return e end
  end
  return nil
end

-- An exposure of a decision: on its own entry when that has no touch yet on this channel,
-- else an entry of its own (a message shown twice counts twice).
local function add_touch(h, entries, nonce, name, chan, at)
  local place = place_of(h, name)
  if place == 0 then return end
  local e = nonce ~= '' and find_live(entries, nonce) or nil
  if e and not has(e.flags, TOUCH) and (e.chan == 0 or e.chan == chan) then
    e.flags, e.chan, e.place, e.touch_at = bit.bor(e.flags, TOUCH), chan, place, at
  else
    entries[#entries + 1] = {flags = TOUCH, chan = chan, place = place, send_at = 0,
                             touch_at = at, nonce = '', delivered = 0, expires = 0}
  end
end
