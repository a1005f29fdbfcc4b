-- Keep online users' streams (creating missing ones) for `keep` seconds and drop their
-- events older than that. KEYS: the streams (one slot). ARGV: keep seconds.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local cutoff = string.format('%d', now_ms - tonumber(ARGV[1]) * 1000)
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 0 then
    create(key)
  else
    local old, ids = redis.call('XRANGE', key, '-', cutoff, 'COUNT', 1000), {}
    for j, entry in ipairs(old) do ids[j] = entry[1] end
    if #ids > 0 then redis.call('XDEL', key, unpack(ids)) end
  end
  redis.call('EXPIRE', key, ARGV[1])
end
return #KEYS
