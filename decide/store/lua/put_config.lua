-- Store one configuration document and bump the global config version, atomically.
-- KEYS[1] the config hash, KEYS[2] the version counter
-- ARGV[1] field (object key), ARGV[2] JSON object without "version",
-- ARGV[3] expected current version of the object ("" = any, "0" = must not exist)
-- Returns the new version, or {err} when the expected version does not match.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then
  local have = '0'
  if current then have = string.match(current, '^{"version":(%d+)') or '0' end
  if have ~= ARGV[3] then
    return redis.error_reply('VERSION_CONFLICT ' .. have)
  end
end
local version = redis.call('INCR', KEYS[2])
local body = string.sub(ARGV[2], 2)
if body ~= '}' then body = ',' .. body end
redis.call('HSET', KEYS[1], ARGV[1], '{"version":' .. version .. body)
return version
