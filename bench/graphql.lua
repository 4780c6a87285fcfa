-- wrk script: POSTs the GraphQL document in the environment variable QUERY to /graphql. When it
-- contains %d, each request gets its own number there (distinct per thread), so every request is a
-- different query: a cache miss.
local query = os.getenv("QUERY")
local counter = 0
local thread_offset = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_offset", next_thread * 100000000)
end

local function body()
  local document = query
  if string.find(query, "%%d") then
    counter = counter + 1
    document = string.format(query, thread_offset + counter)
  end
  return '{"query":' .. string.format("%q", document):gsub("\\\n", "\\n") .. '}'
end

function request()
  return wrk.format("POST", "/graphql", { ["Content-Type"] = "application/json" }, body())
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n",
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
