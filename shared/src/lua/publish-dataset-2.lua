--[[
  Publishes a dataset version: replaces its metadata hash and adds its name to the index, atomically.

  KEYS[1] the dataset's metadata hash
  KEYS[2] the dataset index (a set of names)
  ARGV[1] '1' to replace an existing dataset, '0' to refuse
  ARGV[2] the dataset's name
  ARGV[3...] field/value pairs of the new metadata hash

  Returns {'exists'} when the dataset exists and ARGV[1] is not '1' (nothing changed), otherwise
  {'ok', oldVersion, oldSplits}, both '' when there was no earlier version.
]]
local old = redis.call('HMGET', KEYS[1], 'version', 'splits')
if old[1] and ARGV[1] ~= '1' then return {'exists'} end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[2])
return {'ok', old[1] or '', old[2] or ''}
