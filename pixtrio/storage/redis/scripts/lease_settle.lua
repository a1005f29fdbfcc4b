-- Settle the lease table of an empty Redis (leases.py). KEYS: the lease epoch. ARGV: the
-- expiry in ms. In a Redis (node) holding no key, sets the epoch to now - expiry, so the
-- first takers mint at once, and returns 1; else changes nothing and returns 0.
if redis.call('DBSIZE') ~= 0 then return 0 end
redis.call('SET', KEYS[1], string.format('%d', now - tonumber(ARGV[1])))
return 1
