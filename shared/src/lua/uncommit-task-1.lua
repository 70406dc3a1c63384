--[[
  Uncommits a task whose committed output Redis lost, so its rerun can commit (commit-task is
  first-commit-wins): deletes its field from its round's commit hash, but only while the field still
  holds one of the lost attempts' records, so a rerun that committed meanwhile stays committed.

  KEYS[1] the round's commit hash
  ARGV[1] the task's field (m<index> or r<index>)
  ARGV[2..] the attempts (CommitRecord.attempt) whose records no longer count

  Returns 1 when the field was deleted, 0 otherwise.
]]
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local ok, record = pcall(cjson.decode, v)
if not ok or type(record) ~= 'table' then return 0 end
for i = 2, #ARGV do
  if record['attempt'] == ARGV[i] then
    redis.call('HDEL', KEYS[1], ARGV[1])
    return 1
  end
end
return 0
