-- Take one token from an API key's bucket, refilled continuously at a fixed rate.
-- KEYS[1] the bucket hash {t = tokens, at = time of t}
-- ARGV[1] now (seconds, the service's clock), ARGV[2] refill rate (tokens/s), ARGV[3] capacity
-- Returns {1, "0"} when allowed, {0, "<seconds until a token>"} when not (as a string: Lua
-- numbers in replies are truncated to integers).
local now, rate, capacity = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local stored = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens, at = tonumber(stored[1]), tonumber(stored[2])
if tokens == nil or at == nil then
  tokens, at = capacity, now
elseif now > at then  -- a clock that went back refills nothing, and takes nothing back
  tokens = math.min(capacity, tokens + (now - at) * rate)
  at = now
end
local allowed, wait = 1, 0
if tokens >= 1 then
  tokens = tokens - 1
else
  allowed, wait = 0, (1 - tokens) / rate
end
-- %.17g: tostring keeps only 14 digits, which would lose ~0.1 ms of an epoch time per call.
redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
-- A full bucket is the same as none: let it expire once it would have refilled.
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return {allowed, string.format('%.17g', wait)}
