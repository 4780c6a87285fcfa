-- wrk script: POSTs the GraphQL document in the environment variable QUERY to /graphql; or, with
-- QUERIES instead (documents separated by lines of `---`), each in turn: a mix.
-- - When a document contains %d, each request gets its own number there (distinct per thread), so
--   every request is a different query: a cache miss.
-- - An answer with GraphQL errors counts as an error, like a status of 400 or more; so does one whose
--   mutation was refused (`userErrors` not empty): a refused cart write is not the write measured.
-- - TOKEN, when set, is sent as the bearer session token.
-- - RESET_QUERY, when set, is sent instead of QUERY on every RESET_EVERY-th request of a thread.
-- - ADDRESSES, when set, is a number of clients: each request says it comes from one of them in turn
--   (`X-Forwarded-For: 10.x.y.z`, which a server that trusts 127.0.0.1 believes), so that per-address
--   rate limits see many light clients rather than one heavy one.
-- REQUESTS, when set, stops sending once that many answers came back (shared evenly by wrk's threads,
-- THREADS of them: 2 unless set, as every caller runs wrk -t2), or at the duration given to wrk,
-- whichever is first; wrk still waits out its duration, so the rate
-- printed is then over the seconds (whole ones) between the first request and the last answer.
-- ACCEPT_ENCODING, when set, is sent as Accept-Encoding. An answer that comes back gzipped is unzipped
-- (zlib, through LuaJIT's FFI) and checked like any other; the server sends the same bytes until it
-- renders its cached answer anew, so each distinct gzipped answer is unzipped once.
-- PAGE, when set instead of QUERY, is a path to GET (a page's file), with `If-None-Match: ETAG` when
-- ETAG is set.
local page = os.getenv("PAGE")
local etag = os.getenv("ETAG")
local query = os.getenv("QUERY")
local documents = {}
for document in ((os.getenv("QUERIES") or "") .. "\n---\n"):gmatch("(.-)\n%-%-%-\n") do
  if document ~= "" then table.insert(documents, document) end
end
if #documents == 0 and query then documents = { query } end
local token = os.getenv("TOKEN")
local reset_query = os.getenv("RESET_QUERY")
local reset_every = tonumber(os.getenv("RESET_EVERY") or "0")
-- Whether an answer may hold user errors: only when a document asks for them. Looking for them in
-- every answer would cost the load generator a scan of each large one, taken from the server it
-- measures on two cores.
local asks_user_errors = false
for _, document in ipairs({ reset_query or "", unpack(documents) }) do
  asks_user_errors = asks_user_errors or string.find(document, "userErrors", 1, true) ~= nil
end
local addresses = tonumber(os.getenv("ADDRESSES") or "0")
local requests_wanted = tonumber(os.getenv("REQUESTS") or "0")
local thread_count = tonumber(os.getenv("THREADS") or "2")
local answers = 0
local counter = 0
-- Set in each thread by setup (globals: thread:set cannot reach a local).
thread_offset = 0
answers_wanted = 0
-- Read by done in each thread.
first_request_at = nil
last_answer_at = nil
local next_thread = 0
local threads = {}
graphql_errors = 0

-- wrk starts each thread right after its setup, so setup may only set the thread it is given: a
-- value set in a thread already running races with its own Lua and can corrupt it.
function setup(thread)
  next_thread = next_thread + 1
  thread:set("thread_offset", next_thread * 100000000)
  thread:set("answers_wanted", math.ceil(requests_wanted / thread_count))
  table.insert(threads, thread)
end

local function json_body(document)
  return '{"query":' .. string.format("%q", document):gsub("\\\n", "\\n") .. '}'
end

local headers = { ["Content-Type"] = "application/json" }
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
local accept_encoding = os.getenv("ACCEPT_ENCODING")
if accept_encoding and accept_encoding ~= "" then headers["Accept-Encoding"] = accept_encoding end

local ffi = require("ffi")
ffi.cdef [[
typedef struct {
  const char *next_in; unsigned int avail_in; unsigned long total_in;
  char *next_out; unsigned int avail_out; unsigned long total_out;
  const char *msg; void *state; void *zalloc; void *zfree; void *opaque;
  int data_type; unsigned long adler; unsigned long reserved;
} z_stream;
const char *zlibVersion(void);
int inflateInit2_(z_stream *stream, int window_bits, const char *version, int stream_size);
int inflate(z_stream *stream, int flush);
int inflateEnd(z_stream *stream);
]]
local zlib = ffi.load("libz.so.1")
local Z_OK, Z_STREAM_END, GZIP_WINDOW, CHUNK = 0, 1, 16 + 15, 65536
local chunk = ffi.new("char[?]", CHUNK)

-- The content of the gzipped `body`, or nil when it is not whole gzip.
local function gunzip(body)
  local stream = ffi.new("z_stream")
  if zlib.inflateInit2_(stream, GZIP_WINDOW, zlib.zlibVersion(), ffi.sizeof(stream)) ~= Z_OK then return nil end
  stream.next_in, stream.avail_in = body, #body
  local parts, status = {}, Z_OK
  while status == Z_OK do
    stream.next_out, stream.avail_out = chunk, CHUNK
    status = zlib.inflate(stream, 0)
    table.insert(parts, ffi.string(chunk, CHUNK - stream.avail_out))
  end
  zlib.inflateEnd(stream)
  return status == Z_STREAM_END and table.concat(parts) or nil
end

local function gzipped(response_headers)
  for name, value in pairs(response_headers) do
    if name:lower() == "content-encoding" and value:lower() == "gzip" then return true end
  end
  return false
end

local page_headers = {}
if etag and etag ~= "" then page_headers["If-None-Match"] = etag end

-- The client the next request comes from: one of the ADDRESSES in turn, when they are set.
local function next_client()
  if addresses == 0 then return 0 end
  return (thread_offset / 100000000 * 7919 + counter) % addresses
end

-- A POST of `document` from `client`.
local function post(document, client)
  if addresses > 0 then
    headers["X-Forwarded-For"] = string.format("10.%d.%d.%d",
      math.floor(client / 65536) % 256, math.floor(client / 256) % 256, client % 256)
  end
  return wrk.format("POST", "/graphql", headers, json_body(document))
end

-- The POST of a document sent the same way every time, formatted once per client: on two cores, the
-- load generator's own CPU is taken from the server it measures.
local posts_of = {}
local function same_post(document, client)
  local of_document = posts_of[document]
  if not of_document then
    of_document = {}
    posts_of[document] = of_document
  end
  local request = of_document[client]
  if not request then
    request = post(document, client)
    of_document[client] = request
  end
  return request
end

function request()
  first_request_at = first_request_at or os.time()
  if page and page ~= "" then return wrk.format("GET", page, page_headers) end
  counter = counter + 1
  local client = next_client()
  local document = documents[(counter - 1) % #documents + 1]
  if reset_query and reset_every > 0 and counter % reset_every == 0 then
    document = reset_query
  elseif string.find(document, "%%d") then
    return post(string.format(document, thread_offset + counter), client)
  end
  return same_post(document, client)
end

local function has_errors(answer)
  return string.find(answer, '"errors"', 1, true)
    or (asks_user_errors and string.find(answer, '"userErrors":[{', 1, true))
end

-- Gzipped answers found sound, so that each is unzipped once; a few at most, as a document sent with
-- %d would make every answer a new one.
local sound_gzipped, sound_gzipped_count = {}, 0
local function remember_sound_gzipped(body)
  if sound_gzipped_count >= 16 then sound_gzipped, sound_gzipped_count = {}, 0 end
  sound_gzipped[body] = true
  sound_gzipped_count = sound_gzipped_count + 1
end

function response(status, headers, body)
  answers = answers + 1
  if answers_wanted > 0 and answers >= answers_wanted then
    last_answer_at = os.time()
    wrk.thread:stop()
  end
  if page and page ~= "" then return end
  if status >= 400 then return end
  if gzipped(headers) then
    if not sound_gzipped[body] then
      local content = gunzip(body)
      if not content or has_errors(content) then
        graphql_errors = graphql_errors + 1
      else
        remember_sound_gzipped(body)
      end
    end
  elseif body and has_errors(body) then
    graphql_errors = graphql_errors + 1
  end
end

-- The seconds the run took: wrk's duration, or, when every thread stopped at REQUESTS, from the
-- first request to the last answer.
local function seconds_taken(summary)
  local first, last = nil, nil
  for _, thread in ipairs(threads) do
    local started, stopped = thread:get("first_request_at"), thread:get("last_answer_at")
    if not stopped then return summary.duration / 1e6 end
    first = math.min(first or started, started)
    last = math.max(last or stopped, stopped)
  end
  return math.max(last - first, 1)
end

function done(summary, latency, requests)
  local answered_with_errors = 0
  for _, thread in ipairs(threads) do answered_with_errors = answered_with_errors + thread:get("graphql_errors") end
  io.write(string.format("RESULT requests=%d errors=%d rps=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f\n",
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
      + answered_with_errors,
    summary.requests / seconds_taken(summary),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
