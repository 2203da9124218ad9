-- Delete one configuration document, bump the global config version and append the audit
-- entry, atomically.
-- KEYS[1] the config hash, KEYS[2] the version counter, KEYS[3] the audit stream
-- ARGV[1] field, ARGV[2] kind, ARGV[3] who, ARGV[4] when (epoch s), ARGV[5] audit cap
-- Returns the new version, or 0 when there was nothing to delete.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local have = string.match(current, '^{"version":(%d+)') or '0'
redis.call('HDEL', KEYS[1], ARGV[1])
local version = redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'action', 'delete', 'kind', ARGV[2],
  'key', ARGV[1], 'by', ARGV[3], 'at', ARGV[4], 'version_before', have, 'version_after', version)
return version
