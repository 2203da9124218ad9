-- Delete one configuration document and bump the global config version, atomically.
-- KEYS[1] the config hash, KEYS[2] the version counter; ARGV[1] field.
-- Returns the new version, or 0 when there was nothing to delete.
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
return redis.call('INCR', KEYS[2])
