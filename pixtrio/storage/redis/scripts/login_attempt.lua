-- One failed-sign-in attempt (see login_failures.py). KEYS (one account's tag): the
-- (account, address) budget, the account's budget, its known addresses. ARGV: address
-- count (0: no limit), address period ms, account count (0: no limit), account period
-- ms, address, remember ms. Returns {wait ms (0: allowed), 1 if counted on the account}.
-- One more hit on a GCRA budget: its new state, or nil and the milliseconds to wait.
local function hit(key, count, period)
  local tat = tonumber(redis.call('GET', key)) or now
  if tat < now then tat = now end
  local new_tat = tat + period / count
  local wait = new_tat - period - now
  if wait > 0 then return nil, math.ceil(wait) end
  return new_tat, 0
end

local address_tat, account_tat, wait
if tonumber(ARGV[1]) > 0 then
  address_tat, wait = hit(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]))
  if not address_tat then return {wait, 0} end
end
if tonumber(ARGV[3]) > 0 then
  account_tat, wait = hit(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
  if not account_tat then
    local seen = tonumber(redis.call('ZSCORE', KEYS[3], ARGV[5]))
    if not seen or seen <= now - tonumber(ARGV[6]) then return {wait, 0} end
  end
end
if address_tat then
  redis.call('SET', KEYS[1], tostring(address_tat), 'PX', math.ceil(address_tat - now))
end
if account_tat then
  redis.call('SET', KEYS[2], tostring(account_tat), 'PX', math.ceil(account_tat - now))
  return {0, 1}
end
return {0, 0}
