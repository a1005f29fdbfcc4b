-- Release an ids worker field (leases.py). KEYS: the field's lease. ARGV: this holder.
-- Deletes it only if it is this holder's; returns how many keys were deleted.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
