-- A GCRA rate limit (see ratelimit.py). KEYS[1]: the subject's state. ARGV: limit,
-- period ms. Returns 0 if the hit is allowed (and counted), else the ms to wait.
local period = tonumber(ARGV[2])
local interval = period / tonumber(ARGV[1])
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_at = new_tat - period
if allowed_at > now then
  return math.ceil(allowed_at - now)
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now))
return 0
