-- A pulled author's recent posts below a feed page's position (see feed_reads.py).
-- KEYS[1]: the author's recent set. ARGV: position score, position member ('' for the
-- top), want, the sentinel. Returns {built, ids}.
local built, ids = below(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4])
return {built, ids}
