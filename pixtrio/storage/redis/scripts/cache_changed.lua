-- After a change in the store (see guarded_cache.py): bump the generation and store the
-- new value, unless the key holds the tombstone and the value is not it. KEYS: the
-- value, its generation (one owner's tag). ARGV: the new value (or the tombstone), the
-- TTL, the tombstone ('' for none).
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
local tombstone = ARGV[3]
if tombstone == '' or ARGV[1] == tombstone or redis.call('GET', KEYS[1]) ~= tombstone then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
