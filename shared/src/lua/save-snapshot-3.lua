--[[
  Compacts the master's durable log: stores the state after batch seq as the snapshot and trims
  every entry it covers, fenced by view number like an append. A snapshot no newer than the stored
  one changes nothing.

  KEYS[1] the fence (a view number)
  KEYS[2] the snapshot hash (fields seq, view, state)
  KEYS[3] the log stream
  ARGV[1] the primary's view number
  ARGV[2] seq: the last batch the state includes
  ARGV[3] the state (JSON)

  Returns {'saved', seq}, {'stale', stored seq} or {'fenced', fence}.
]]
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if fence > tonumber(ARGV[1]) then return { 'fenced', fence } end
local seq = tonumber(ARGV[2])
local stored = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if seq <= stored then return { 'stale', stored } end
redis.call('HSET', KEYS[2], 'seq', ARGV[2], 'view', ARGV[1], 'state', ARGV[3])
-- MINID drops the ids below it: every entry <seq'>-1 with seq' <= seq.
redis.call('XTRIM', KEYS[3], 'MINID', (seq + 1) .. '-0')
return { 'saved', seq }
