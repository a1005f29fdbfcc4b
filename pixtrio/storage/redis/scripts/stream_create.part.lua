-- Makes an empty stream whose deleted-id mark is now: nothing before it is recoverable.
local function create(key)
  redis.call('XDEL', key, redis.call('XADD', key, '*', 'o', '1'))
end
