-- A right password (see login_failures.py). KEYS as login_attempt's. ARGV: ms to hand
-- back to the account's budget (0: none), address, remember ms, most addresses kept.
redis.call('DEL', KEYS[1])
local refund = tonumber(ARGV[1])
local tat = refund > 0 and tonumber(redis.call('GET', KEYS[2]))
if tat then
  tat = tat - refund
  if tat > now then
    redis.call('SET', KEYS[2], tostring(tat), 'PX', math.ceil(tat - now))
  else
    redis.call('DEL', KEYS[2])
  end
end
redis.call('ZADD', KEYS[3], now, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - tonumber(ARGV[3]))
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -tonumber(ARGV[4]) - 1)
redis.call('PEXPIRE', KEYS[3], ARGV[3])
return 0
