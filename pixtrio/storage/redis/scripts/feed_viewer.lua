-- A feed page's first read on the viewer's slot (see feed_reads.py). KEYS (one user's
-- tag): the timeline, the following set, the liked set, the set of cached token hashes.
-- ARGV: position score, position member ('' for the top), want, TTL, the built marker,
-- the sentinel, the token-set TTL ('' to leave it), then the pulled authors (celebrities).
-- Returns {0, following built, liked built} when either set is missing, else {1,
-- timeline built, the timeline's ids below the position, the pulled authors followed}.
local timeline, following, liked, tokens = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local want, ttl, marker, sentinel = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]
if ARGV[7] ~= '' then redis.call('EXPIRE', tokens, ARGV[7]) end
local following_built = redis.call('SISMEMBER', following, marker)
local liked_built = redis.call('SISMEMBER', liked, marker)
if following_built == 0 or liked_built == 0 then
  return {0, following_built, liked_built}
end
redis.call('EXPIRE', following, ttl)
redis.call('EXPIRE', liked, ttl)
local built, ids = below(timeline, ARGV[1], ARGV[2], want, sentinel)
redis.call('EXPIRE', timeline, ttl)
local pulled = {}
if #ARGV > 7 then
  local celebrities = {unpack(ARGV, 8)}
  for i, yes in ipairs(redis.call('SMISMEMBER', following, unpack(celebrities))) do
    if yes == 1 then pulled[#pulled + 1] = celebrities[i] end
  end
end
return {1, built, ids, pulled}
