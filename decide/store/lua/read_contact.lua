-- Everything one decision reads about its contact, in one reply: fewer commands is less
-- client work per contact than six separate reads (all keys share the contact's hash tag).
-- KEYS[1] profile, KEYS[2] behaviour, KEYS[3] send slots, KEYS[4] sends, KEYS[5] pending,
-- KEYS[6] shown, KEYS[7] bandit stickiness
-- ARGV[1] placement, ARGV[2] which optional parts to read: a string of 0/1 for
-- slots, sends+pending, shown, stickiness
-- Returns {profile, behaviour, slots, sends, pending, shown, sticky} (false where not read).
local want = ARGV[2]
local function wanted(i) return string.sub(want, i, i) == '1' end
local out = {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), false, false,
             false, false, false}
if wanted(1) then out[3] = redis.call('GET', KEYS[3]) end
if wanted(2) then
  out[4] = redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')
  out[5] = redis.call('HGETALL', KEYS[5])
end
if wanted(3) then out[6] = redis.call('HGET', KEYS[6], ARGV[1]) end
if wanted(4) then out[7] = redis.call('HGET', KEYS[7], ARGV[1]) end
return out
