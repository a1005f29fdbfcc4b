-- Take an ids worker field (leases.py). KEYS: the field's lease, the lease epoch (one
-- `{ids}` slot). ARGV: this holder, the expiry in ms. Returns -1 if another holds the
-- field, else the ms until it may be minted on (epoch + expiry; a missing epoch, a new or
-- lost table, is set to now).
local ttl = tonumber(ARGV[2])
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then return -1 end
if redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], string.format('%d', now))
end
return lease_wait(ttl)
