-- Store one configuration document, bump the global config version and append the audit
-- entry, atomically: no change without its entry, no entry for a change that did not happen.
-- KEYS[1] the config hash, KEYS[2] the version counter, KEYS[3] the audit stream
-- ARGV[1] field (object key), ARGV[2] JSON object without "version",
-- ARGV[3] expected current version of the object ("" = any, "0" = must not exist)
-- ARGV[4] kind, ARGV[5] action, ARGV[6] who, ARGV[7] when (epoch s), ARGV[8] audit cap
-- Returns the new version, or {err} when the expected version does not match.
local current = redis.call('HGET', KEYS[1], ARGV[1])
local have = '0'
if current then have = string.match(current, '^{"version":(%d+)') or '0' end
if ARGV[3] ~= '' and have ~= ARGV[3] then
  return redis.error_reply('VERSION_CONFLICT ' .. have)
end
local version = redis.call('INCR', KEYS[2])
local body = string.sub(ARGV[2], 2)
if body ~= '}' then body = ',' .. body end
redis.call('HSET', KEYS[1], ARGV[1], '{"version":' .. version .. body)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], '*', 'action', ARGV[5], 'kind', ARGV[4],
  'key', ARGV[1], 'by', ARGV[6], 'at', ARGV[7], 'version_before', have, 'version_after', version)
return version
