-- Keep (or create) a user's stream and read what followed a resume position: a stream
-- that had to be created cannot recover anything. KEYS[1]: the stream. ARGV: keep
-- seconds, the position ('' for none), most entries. Returns false, or {the newest
-- deleted id, the last id, the entries after the position}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  create(KEYS[1])
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  return false
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
if ARGV[2] == '' then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local deleted, last = '0-0', '0-0'
for i = 1, #info, 2 do
  if info[i] == 'max-deleted-entry-id' then deleted = info[i + 1] end
  if info[i] == 'last-generated-id' then last = info[i + 1] end
end
return {deleted, last, redis.call('XRANGE', KEYS[1], '(' .. ARGV[2], '+', 'COUNT', ARGV[3])}
