--[[
  Removes a dataset's metadata and its name from the index, atomically. Its splits are unlinked
  by the caller afterwards: once the metadata is gone nothing reads them.

  KEYS[1] the dataset's metadata hash
  KEYS[2] the dataset index (a set of names)
  ARGV[1] the dataset's name

  Returns {version, splits} of the removed version, or {} when there was none.
]]
local old = redis.call('HMGET', KEYS[1], 'version', 'splits')
redis.call('SREM', KEYS[2], ARGV[1])
if not old[1] then return {} end
redis.call('DEL', KEYS[1])
return {old[1], old[2] or '0'}
