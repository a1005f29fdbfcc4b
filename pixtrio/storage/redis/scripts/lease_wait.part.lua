-- The ms until a field taken now may be minted on: until the lease epoch (KEYS[2]) plus
-- the expiry, at most the expiry; the whole expiry when there is no epoch. Needs `now`
-- (clock.part).
local function lease_wait(ttl)
  local epoch = tonumber(redis.call('GET', KEYS[2]))
  if not epoch then return ttl end
  return math.max(0, math.min(ttl, epoch + ttl - now))
end
