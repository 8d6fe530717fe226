-- wrk script of the ppms-depot benchmark: a counted run of PUTs (distinct names, so no server
-- deduplicates or versions them) or of one PROPFIND, timed from the first request sent to the
-- COUNT-th answer received. Driven by environment variables set by bench.py:
--   BENCH_METHOD  PUT or PROPFIND
--   BENCH_PATH    PUT: path prefix of the names ("/dav/s4k-r1-"); PROPFIND: the path itself
--   BENCH_BODY    file whose content is each PUT's body
--   BENCH_AUTH    Authorization header value, or empty; several separated by "|" are used in
--                 turn (PUTs spread over several schools)
--   BENCH_COUNT   answers to wait for (the one thread stops there)
--   BENCH_MARK    file written when the count is reached (bench.py then stops wrk)
-- Prints one line: RESULT count=<n> elapsed_us=<t> p50_us=<l> p99_us=<l> errors=<n>.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local method = os.getenv("BENCH_METHOD") or "PUT"
local path = os.getenv("BENCH_PATH") or "/"
local auths = {}
for value in string.gmatch(os.getenv("BENCH_AUTH") or "", "[^|]+") do
  table.insert(auths, value)
end
local count = tonumber(os.getenv("BENCH_COUNT") or "1000")
local mark = os.getenv("BENCH_MARK")
local body = nil
local body_file = os.getenv("BENCH_BODY")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  answered = 0
  failed = 0
  started_us = 0
  finished_us = 0
  headers = {}
  if method == "PROPFIND" then
    headers["Depth"] = "1"
  end
end

function request()
  if sent == 0 then
    started_us = now_us()
  end
  sent = sent + 1
  if #auths > 0 then
    headers["Authorization"] = auths[(sent % #auths) + 1]
  end
  if method == "PUT" then
    return wrk.format("PUT", path .. sent .. ".pdf", headers, body)
  end
  return wrk.format(method, path, headers, nil)
end

function response(status, hdrs, resp_body)
  answered = answered + 1
  if status >= 400 then
    failed = failed + 1
  end
  if answered == count then
    finished_us = now_us()
    if mark then
      local f = io.open(mark, "w")
      if f then
        f:write("done\n")
        f:close()
      end
    end
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  local n = t:get("answered")
  local elapsed = t:get("finished_us") - t:get("started_us")
  io.write(string.format(
    "RESULT count=%d elapsed_us=%d p50_us=%d p99_us=%d errors=%d\n",
    n, elapsed, latency:percentile(50), latency:percentile(99), t:get("failed")))
end
