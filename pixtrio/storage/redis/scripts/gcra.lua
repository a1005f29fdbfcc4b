-- A GCRA rate limit (see ratelimit.py). KEYS[1]: the subject's state. ARGV: limit,
-- period ms. Returns {ms to wait (0: allowed and counted), hits left, ms until the whole
-- budget is back}.
local period = tonumber(ARGV[2])
local interval = period / tonumber(ARGV[1])
local now_parts = redis.call('TIME')
local now = now_parts[1] * 1000 + math.floor(now_parts[2] / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allowed_at = new_tat - period
if allowed_at > now then
  return {math.ceil(allowed_at - now), 0, math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now))
return {0, math.floor((now + period - new_tat) / interval + 1e-9), math.ceil(new_tat - now)}
