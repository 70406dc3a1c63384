--[[
  The view service records its durable state only while it holds the view-service lease, so a
  holder that was paused past its lease (and did not notice yet) can never overwrite the state of
  the service that took over.

  KEYS[1] the lease (JSON {id, url, since, epoch}, with a TTL)
  KEYS[2] the view service's durable state
  ARGV[1] the caller's instance id
  ARGV[2] the state (JSON)

  Returns {'saved'} or {'not-holder', lease} (lease: the current value, or '' when none).
]]
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, held = pcall(cjson.decode, cur)
  if ok and type(held) == 'table' and held.id == ARGV[1] then
    redis.call('SET', KEYS[2], ARGV[2])
    return { 'saved' }
  end
  return { 'not-holder', cur }
end
return { 'not-holder', '' }
