--[[
  A view service acquires or renews the view-service lease for its prefix (docs/DESIGN.md §5.1,
  rule 12). One script for both, comparing the holder's instance id, so a renewal can never extend
  a lease another service took over, and a takeover happens only once the lease has lapsed.

  KEYS[1] the lease (JSON {id, url, since, epoch}, with a TTL)
  KEYS[2] the lease epoch counter (raised on every takeover; never expires). The new epoch is one
          more than the last, or the takeover time in ms if that is larger: masters ignore views
          under an older epoch than one they saw, so the epoch must still go up after Redis lost the
          counter (as far as the hosts' clocks agree)
  ARGV[1] the caller's instance id (random per process)
  ARGV[2] the lease's time to live (ms)
  ARGV[3] the caller's advertised URL
  ARGV[4] the time of the takeover, as the caller writes it (ISO 8601)
  ARGV[5] the same time in ms since the epoch

  Returns {'renewed', lease} (the caller held it: its TTL is reset), {'acquired', lease} (it was
  free: a new epoch, held by the caller) or {'held', lease} (another service holds it).
]]
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, held = pcall(cjson.decode, cur)
  if ok and type(held) == 'table' and held.id == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return { 'renewed', cur }
  end
  if ok and type(held) == 'table' then return { 'held', cur } end
  -- An unreadable value holds nothing: it is replaced as if the lease had lapsed.
end
local epoch = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, tonumber(ARGV[5]))
redis.call('SET', KEYS[2], string.format('%d', epoch))
local lease = cjson.encode({ id = ARGV[1], url = ARGV[3], since = ARGV[4], epoch = epoch })
redis.call('SET', KEYS[1], lease, 'PX', ARGV[2])
return { 'acquired', lease }
