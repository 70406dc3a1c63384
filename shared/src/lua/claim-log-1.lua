--[[
  A primary claims the master's durable log for its view: it raises the fence to its view number,
  after which no primary of an older view can append to the log or snapshot it. Refused when a
  newer view already claimed it.

  KEYS[1] the fence (a view number)
  ARGV[1] the claiming primary's view number

  Returns {'claimed', viewnum} or {'fenced', fence}.
]]
local fence = tonumber(redis.call('GET', KEYS[1]) or '0')
local view = tonumber(ARGV[1])
if fence > view then return { 'fenced', fence } end
redis.call('SET', KEYS[1], view)
return { 'claimed', view }
