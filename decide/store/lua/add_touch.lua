--#include contact_lib
-- Record an exposure of a decision for attribution (placements exposed "on_decide").
-- KEYS[1] the contact's state hash
-- ARGV[1] now, ARGV[2] the decision's nonce key (9 bytes), ARGV[3] 'placement|message',
-- ARGV[4] channel code, ARGV[5] when exposed, ARGV[6] attribution window (s)
local h = KEYS[1]
local entries, had = entries_get(h)
add_touch(h, entries, ARGV[2], ARGV[3], string.byte(ARGV[4]) or 0, tonumber(ARGV[5]))
entries_put(h, entries, had, tonumber(ARGV[1]), tonumber(ARGV[6]), nil)
return 1
