--[[
  Claims one run of a verified task for a worker (docs/DESIGN.md §3.5), unless the task's other run
  is this worker's and another worker could take this one: then the run is deferred instead, at
  most a given number of times per task, so a task whose other worker never comes still runs.

  KEYS[1] the round's verify hash
  ARGV[1] this run's claim field (<task>.<slot>.by)
  ARGV[2] the other run's claim field
  ARGV[3] this worker's name
  ARGV[4] the task's deferral counter field (<task>.deferred)
  ARGV[5] the most deferrals a task may have
  ARGV[6] 1 when another worker is online, else 0
  ARGV[7] the hash's time to live, in seconds

  Returns {0, n} when the run is deferred (n: the task's deferrals so far), {1, other} when it is
  claimed (other: the worker that claimed the other run, or false).
]]
local other = redis.call('HGET', KEYS[1], ARGV[2])
if other == ARGV[3] and ARGV[6] == '1' then
  local n = redis.call('HINCRBY', KEYS[1], ARGV[4], 1)
  if n <= tonumber(ARGV[5]) then
    redis.call('EXPIRE', KEYS[1], ARGV[7])
    return {0, n}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[7])
return {1, other}
