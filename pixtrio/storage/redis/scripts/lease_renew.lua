-- Renew an ids worker field (leases.py). KEYS: the field's lease, the lease epoch. ARGV:
-- this holder, the expiry in ms. Returns -1 if another holds the field; 0 if it was
-- extended; if it was lost and re-taken, the ms until epoch + expiry (the whole expiry
-- while there is no epoch: a renewal never creates one).
local ttl = tonumber(ARGV[2])
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 0
elseif holder then
  return -1
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
return lease_wait(ttl)
