-- Up to `want` members of a timeline-like sorted set below a position (score, member;
-- member '' for the top), newest first, and whether the set holds the built sentinel.
local function below(key, high_score, high_member, want, sentinel)
  local built = redis.call('ZSCORE', key, sentinel) and 1 or 0
  if high_member == '' then
    return built, redis.call('ZRANGE', key, '+inf', 0, 'BYSCORE', 'REV', 'LIMIT', 0, want)
  end
  local ids = {}
  for _, m in ipairs(redis.call('ZRANGE', key, high_score, high_score, 'BYSCORE', 'REV')) do
    if m < high_member and #ids < want then ids[#ids + 1] = m end
  end
  if #ids < want then
    for _, m in ipairs(redis.call('ZRANGE', key, '(' .. high_score, 0, 'BYSCORE', 'REV',
                                  'LIMIT', 0, want - #ids)) do
      ids[#ids + 1] = m
    end
  end
  return built, ids
end
