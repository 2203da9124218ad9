-- Record that a contact was served an experiment's variation: sticky, and counted once.
-- KEYS[1] assignments hash (contact -> variation), KEYS[2] exposures hash (variation -> contacts)
-- ARGV[1] contact id, ARGV[2] variation key
-- Returns the variation the contact holds (the new one, or the one it already had).
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return ARGV[2]
end
return redis.call('HGET', KEYS[1], ARGV[1])
