-- Write a contact's profile in one step: replace it whole (PUT) or merge a patch (PATCH).
-- KEYS[1] profile hash, KEYS[2] the contact's state hash (suppressions: `x:<channel>`)
-- ARGV[1] 'replace' | 'patch', ARGV[2] number of fields to set (n), then n field/value pairs,
-- then ARGV[3 + 2n] number of fields to delete (m) and m fields (a field ending in '.' deletes
-- every field with that prefix: a nested map set to null), then the channels consented to:
-- their suppression ends (DESIGN.md: until consent is given again).
-- Returns the profile after the write, as HGETALL does (the caller shows it).
local profile = KEYS[1]
if ARGV[1] == 'replace' then redis.call('DEL', profile) end
local n = tonumber(ARGV[2])
local i = 3
for _ = 1, n do
  redis.call('HSET', profile, ARGV[i], ARGV[i + 1])
  i = i + 2
end
local m = tonumber(ARGV[i])
i = i + 1
for _ = 1, m do
  local field = ARGV[i]
  if string.sub(field, -1) == '.' then
    for _, name in ipairs(redis.call('HKEYS', profile)) do
      if string.sub(name, 1, #field) == field then redis.call('HDEL', profile, name) end
    end
  else
    redis.call('HDEL', profile, field)
  end
  i = i + 1
end
for j = i, #ARGV do redis.call('HDEL', KEYS[2], 'x:' .. ARGV[j]) end
return redis.call('HGETALL', profile)
