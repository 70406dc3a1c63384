--[[
  Appends one op batch to the master's durable log, fenced by view number: a primary whose view is
  older than the fence (the newest view whose primary claimed the log) is refused, so a primary cut
  off from the others can never add to the log. Batch numbers are dense: a retry of a batch already
  there is a success (its first attempt's outcome was unknown), a batch that would leave a hole is
  refused.

  KEYS[1] the fence (a view number)
  KEYS[2] the snapshot hash (field seq: the last batch it covers)
  KEYS[3] the log stream (entry id <seq>-1, fields view and ops)
  ARGV[1] the appending primary's view number
  ARGV[2] the batch's seq
  ARGV[3] the batch's ops (JSON)

  Returns {'appended', seq}, {'duplicate', head}, {'gap', head} (head: the log's last seq) or
  {'fenced', fence}.
]]
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
if fence > tonumber(ARGV[1]) then return { 'fenced', fence } end
local seq = tonumber(ARGV[2])
local head = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
if #last > 0 then
  local s = tonumber(string.match(last[1][1], '^(%d+)-'))
  if s > head then head = s end
end
if seq <= head then return { 'duplicate', head } end
if seq > head + 1 then return { 'gap', head } end
redis.call('XADD', KEYS[3], ARGV[2] .. '-1', 'view', ARGV[1], 'ops', ARGV[3])
return { 'appended', seq }
