-- wrk script: GET the paths of a file (one per line, given after `--`) in order, each wrk
-- thread from its own half, so that no target repeats within a run: every answer is
-- computed, none comes from the node's answer cache. Used by bench/http.sh for searches.
local threads = 0
function setup(thread)
  thread:set("thread_index", threads)
  threads = threads + 1
end
local paths = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  i = (tonumber(thread_index) or 0) * math.floor(#paths / 2)
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
