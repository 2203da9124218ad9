-- Everything one decision reads about its contact, in one reply: fewer commands is less
-- client work per contact than separate reads (all keys share the contact's hash tag).
-- KEYS[1] profile, KEYS[2] the state hash (behaviour, send times, sends: contact_codec.py),
-- KEYS[3] shown, KEYS[4] bandit stickiness
-- ARGV[1] placement, ARGV[2] which optional parts to read: a string of 0/1 for
-- shown, stickiness
-- Returns {profile, state, shown, sticky} (false where not read).
local want = ARGV[2]
local function wanted(i) return string.sub(want, i, i) == '1' end
local out = {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), false, false}
if wanted(1) then out[3] = redis.call('HGET', KEYS[3], ARGV[1]) end
if wanted(2) then out[4] = redis.call('HGET', KEYS[4], ARGV[1]) end
return out
