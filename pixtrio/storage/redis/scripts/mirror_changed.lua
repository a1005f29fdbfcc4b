-- After a change in the store (see mirrored_sets.py): bump the user's version and update
-- the set if it is built. KEYS: the set, its version (one user's tag). ARGV: 1 (added)
-- or 0 (removed), the TTL, the member.
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], 2 * tonumber(ARGV[2]))
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[1] == '1' then redis.call('SADD', KEYS[1], ARGV[3])
  else redis.call('SREM', KEYS[1], ARGV[3]) end
end
return 0
