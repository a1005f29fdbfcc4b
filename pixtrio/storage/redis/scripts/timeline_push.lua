-- Add post ids to sorted sets (timelines or recent sets; see timelines.py), trimming
-- each to its newest `cap` and the sentinel. KEYS: the sets (one slot). ARGV: cap, TTL
-- for a set created here, then score, member, score, member, ... Returns #KEYS.
local cap, ttl = tonumber(ARGV[1]), ARGV[2]
local adds = {}
for i = 3, #ARGV do adds[#adds + 1] = ARGV[i] end
for _, key in ipairs(KEYS) do
  local added = redis.call('ZADD', key, unpack(adds))
  local size = redis.call('ZCARD', key)
  if size > cap + 1 then
    redis.call('ZREMRANGEBYRANK', key, 1, -(cap + 1))
  elseif size == added then
    redis.call('EXPIRE', key, ttl)  -- created just now: every set gets a TTL when made
  end
end
return #KEYS
