--[[
  Commits a task: sets its field in its round's commit hash unless an attempt of the same task
  committed first, and sets the hash's expiry again, atomically.

  KEYS[1] the round's commit hash
  ARGV[1] the task's field (m<index> or r<index>)
  ARGV[2] the commit record (JSON)
  ARGV[3] the hash's time to live, in seconds

  Returns 1 when this commit counts, 0 when another attempt had committed (only the expiry changed).
]]
local won = redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return won
