-- wrk script: POSTs the GraphQL document in the environment variable QUERY to /graphql.
-- - When QUERY contains %d, each request gets its own number there (distinct per thread), so every
--   request is a different query: a cache miss.
-- - TOKEN, when set, is sent as the bearer session token.
-- - RESET_QUERY, when set, is sent instead of QUERY on every RESET_EVERY-th request of a thread.
-- PAGE, when set instead of QUERY, is a path to GET (a page's file), with `If-None-Match: ETAG` when
-- ETAG is set.
local page = os.getenv("PAGE")
local etag = os.getenv("ETAG")
local query = os.getenv("QUERY")
local token = os.getenv("TOKEN")
local reset_query = os.getenv("RESET_QUERY")
local reset_every = tonumber(os.getenv("RESET_EVERY") or "0")
local counter = 0
local thread_offset = 0
local next_thread = 0

function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_offset", next_thread * 100000000)
end

local function json_body(document)
  return '{"query":' .. string.format("%q", document):gsub("\\\n", "\\n") .. '}'
end

local headers = { ["Content-Type"] = "application/json" }
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end

local page_headers = {}
if etag and etag ~= "" then page_headers["If-None-Match"] = etag end

function request()
  if page and page ~= "" then return wrk.format("GET", page, page_headers) end
  counter = counter + 1
  local document = query
  if reset_query and reset_every > 0 and counter % reset_every == 0 then
    document = reset_query
  elseif string.find(query, "%%d") then
    document = string.format(query, thread_offset + counter)
  end
  return wrk.format("POST", "/graphql", headers, json_body(document))
end

function done(summary, latency, requests)
  io.write(string.format("RESULT requests=%d errors=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n",
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
