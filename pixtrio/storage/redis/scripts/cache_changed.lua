-- After a change in the store (see guarded_cache.py): bump the generation and store the
-- new value, unless the key holds the tombstone and the value is not it. KEYS: the
-- value, its generation (one owner's tag). ARGV: the new value (or the tombstone), the
-- TTL, the tombstone ('' for none). A generation that expired starts again from the
-- server's clock in microseconds, above every value it had: generations never repeat.
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.rep('0', 6 - #now[2]) .. now[2])
end
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
local tombstone = ARGV[3]
if tombstone == '' or ARGV[1] == tombstone or redis.call('GET', KEYS[1]) ~= tombstone then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
return 0
