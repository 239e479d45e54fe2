-- wrk script of tests/benchmarks/bench_server.py: each request is built from a
-- raw request template in which every "@TOKEN@" is replaced by a session token.
-- With one token in the pool the same request is sent every time; with more,
-- each request takes the next token (a new token per request).
--
--   wrk -t1 -c16 -d5s -s bench_server_rotate.lua URL -- TEMPLATE TOKENS OFFSET THREADS
--
-- TEMPLATE: the request's bytes; TOKENS: lines of "<user id> <token>"; OFFSET:
-- the index of the first token to send (tokens a warm-up already used are
-- skipped); THREADS: wrk's -t, so threads take interleaved tokens. done() prints
-- one JSON line for the driver.

local counter = 0
local parts, tokens = {}, {}
local index, stride, static = 0, 1, nil

function setup(thread)
   thread:set("id", counter)
   counter = counter + 1
end

local function split(text, marker)
   local pieces, start = {}, 1
   while true do
      local first, last = string.find(text, marker, start, true)
      if not first then
         pieces[#pieces + 1] = string.sub(text, start)
         return pieces
      end
      pieces[#pieces + 1] = string.sub(text, start, first - 1)
      start = last + 1
   end
end

local function build(token)
   return table.concat(parts, token)
end

function init(args)
   local file = assert(io.open(args[1], "rb"))
   parts = split(file:read("*a"), "@TOKEN@")
   file:close()
   for line in io.lines(args[2]) do
      local token = string.match(line, "^%S+ (%S+)$")
      if token then tokens[#tokens + 1] = token end
   end
   stride = tonumber(args[4]) or 1
   index = (tonumber(args[3]) or 0) + (id or 0)
   if #tokens == 1 then static = build(tokens[1]) end
end

function request()
   if static then return static end
   local token = tokens[(index % #tokens) + 1]
   index = index + stride
   return build(token)
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
      '"status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d}\n',
      summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
      latency:percentile(50), latency:percentile(99)))
end
