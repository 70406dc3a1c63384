--[[
  A view service that stops gives up its lease, so a standby (or its own restart) takes over at once
  instead of after the TTL. Only the holder's own lease is deleted.

  KEYS[1] the lease (JSON {id, url, since, epoch}, with a TTL)
  ARGV[1] the caller's instance id

  Returns 1 when the caller's lease was deleted, 0 when it held none.
]]
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local ok, held = pcall(cjson.decode, cur)
if ok and type(held) == 'table' and held.id == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
