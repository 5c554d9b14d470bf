-- wrk script: GET a random path from a file (one per line), given after `--`.
-- Used by bench/http.sh to read practices spread over the whole store, not one hot record.
local paths = {}
function init(args)
  for line in io.lines(args[1]) do paths[#paths + 1] = line end
  math.randomseed(os.time() + tonumber(tostring(paths):sub(8), 16) % 1000)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
