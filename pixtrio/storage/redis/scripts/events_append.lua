-- Append an event to the streams that exist (see events.py), trimming each to about
-- `cap` with XDEL (which records the newest deleted id). KEYS: users' streams (one
-- slot). ARGV: cap, event JSON, slack. Returns, per key, the new entry's id or ''.
local cap, event, slack = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local ids = {}
for i, key in ipairs(KEYS) do
  ids[i] = ''
  if redis.call('EXISTS', key) == 1 then
    ids[i] = redis.call('XADD', key, '*', 'e', event)
    if redis.call('XLEN', key) > cap + slack then
      local old, gone = redis.call('XRANGE', key, '-', '+', 'COUNT', slack), {}
      for j, entry in ipairs(old) do gone[j] = entry[1] end
      redis.call('XDEL', key, unpack(gone))
    end
  end
end
return ids
