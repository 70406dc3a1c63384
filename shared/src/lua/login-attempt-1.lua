--[[
  Admits one console login attempt from a client address, or refuses it when that address already
  has MAX attempts in the sliding window. Counting and admitting are one step, so parallel guesses
  cannot all slip in under the limit. The attempt's entry stays as a failure; the console removes it
  (ZREM) when the token was right. Times are the Redis server's clock, shared by every console.

  KEYS[1] the address's attempts (a sorted set: member = attempt id, score = its time in ms)
  ARGV[1] the window in ms
  ARGV[2] MAX, the attempts allowed in the window
  ARGV[3] this attempt's id

  Returns {1, 0} when admitted, or {0, ms} when refused: ms until the oldest attempt leaves the window.
]]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return { 0, math.max(1, tonumber(oldest[2]) + window - now) }
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return { 1, 0 }
