-- Replace a mirrored set unless its version moved (see mirrored_sets.py). KEYS: the set,
-- its version (one user's tag). ARGV: the version seen before reading the store, the
-- TTL, then the members (the built marker first). Returns 1 if replaced, else 0.
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 1000 do
  redis.call('SADD', KEYS[1], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
