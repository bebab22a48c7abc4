-- wrk script for Benchmarks/console.sh: GETs console pages as a signed-in operator, cycling through
-- the paths in BENCH_PATHS_FILE (one a line) with the session cookie BENCH_COOKIE.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS_FILE")) do
    paths[#paths + 1] = line
end
local headers = { ["Cookie"] = os.getenv("BENCH_COOKIE") }
local next_path = 0

function setup(thread)
    thread:set("next_path", math.random(#paths))
end

function request()
    next_path = next_path % #paths + 1
    return wrk.format("GET", paths[next_path], headers)
end

dofile("Benchmarks/report.lua")
