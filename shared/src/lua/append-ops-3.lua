--[[
  Appends one op batch to the master's durable log, fenced by view number: a primary whose view is
  older than the fence (the newest view whose primary claimed the log) is refused, so a primary cut
  off from the others can never add to the log. Batch numbers are dense: a retry of a batch already
  there is a success (its first attempt's outcome was unknown), another batch under a seq already
  there is refused as diverged, a batch that would leave a hole is refused.

  KEYS[1] the fence (a view number)
  KEYS[2] the snapshot hash (field seq: the last batch it covers)
  KEYS[3] the log stream (entry id <seq>-1, fields view and ops)
  ARGV[1] the appending primary's view number
  ARGV[2] the batch's seq
  ARGV[3] the batch's ops (JSON)

  Returns {'appended', seq}, {'duplicate', head}, {'diverged', head} (that seq holds other ops),
  {'gap', head} (head: the log's last seq) or {'fenced', fence}.
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
if seq <= head then
  -- A retry is the same batch. The same seq with other ops is another batch (its appender lost track
  -- of one whose outcome it never learned): its state is not the log's. A trimmed entry (covered by
  -- the snapshot) cannot be compared and counts as the retry it is in practice.
  local entry = redis.call('XRANGE', KEYS[3], ARGV[2] .. '-1', ARGV[2] .. '-1')
  if #entry > 0 then
    local fields = entry[1][2]
    for i = 1, #fields, 2 do
      if fields[i] == 'ops' and fields[i + 1] ~= ARGV[3] then return { 'diverged', head } end
    end
  end
  return { 'duplicate', head }
end
if seq > head + 1 then return { 'gap', head } end
redis.call('XADD', KEYS[3], ARGV[2] .. '-1', 'view', ARGV[1], 'ops', ARGV[3])
return { 'appended', seq }
