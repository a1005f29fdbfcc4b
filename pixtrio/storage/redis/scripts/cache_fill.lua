-- Fill a guarded cache (see guarded_cache.py): set the value, unless it exists, only if
-- its generation is still the one seen. KEYS: the value, its generation (one owner's
-- tag). ARGV: the generation seen, the value, the TTL. Returns 1 if set, else 0.
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return 0 end
return redis.call('SET', KEYS[1], ARGV[2], 'NX', 'EX', ARGV[3]) and 1 or 0
