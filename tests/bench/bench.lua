-- bench.lua: the requests of scripts/bench, one scenario per wrk run.
--
-- Configured by the environment (scripts/bench sets it):
--   BENCH_SCENARIO       verify | list | get | create | mixed
--   BENCH_ADMIN_TOKEN    a token holding access-management (list, get)
--   BENCH_CREATE_TOKEN   the admin token that creates (create, mixed):
--                        another account than the listed one, so that the
--                        list keeps its size
--   BENCH_CREATE_MODULE  the module a created token gets
--   BENCH_VERIFY_TOKENS  comma-separated tokens the verify requests carry
--   BENCH_VERIFY_PATH    the protected path (auth_request) they ask for
--   BENCH_GET_IDS        comma-separated token ids to read
--   BENCH_LIST_LIMIT     page size of the list (default 50)
--
-- Every request is formatted once in init(); request() only hands them
-- out in turn, so wrk spends its time on the network, not in Lua.  done()
-- prints one line "BENCH {json}" with the figures scripts/bench reports.

local threads = {}
local counter = 0
local reqs = {}

local function env(name, default)
	local v = os.getenv(name)
	if v == nil or v == "" then
		if default == nil then
			error("bench.lua: " .. name .. " is not set")
		end
		return default
	end
	return v
end

local function split(s)
	local out = {}
	for item in string.gmatch(s, "[^,]+") do
		out[#out + 1] = item
	end
	return out
end

local api = "/public/v1/accounts/api-tokens"

local function verify_reqs()
	local out = {}
	local path = env("BENCH_VERIFY_PATH")
	for _, t in ipairs(split(env("BENCH_VERIFY_TOKENS"))) do
		out[#out + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. t })
	end
	return out
end

local function list_reqs()
	local limit = env("BENCH_LIST_LIMIT", "50")
	return { wrk.format("GET", api .. "?limit=" .. limit,
		{ ["Authorization"] = "Bearer " .. env("BENCH_ADMIN_TOKEN") }) }
end

local function get_reqs()
	local out = {}
	local auth = { ["Authorization"] = "Bearer " .. env("BENCH_ADMIN_TOKEN") }
	for _, id in ipairs(split(env("BENCH_GET_IDS"))) do
		out[#out + 1] = wrk.format("GET", api .. "/" .. id .. "?select=%2Bmodules,%2Baudit", auth)
	end
	return out
end

local function create_reqs(tid)
	local out = {}
	local hdr = {
		["Authorization"] = "Bearer " .. env("BENCH_CREATE_TOKEN"),
		["Content-Type"] = "application/json",
	}
	local mod = env("BENCH_CREATE_MODULE")
	for i = 1, 16 do
		local body = string.format(
			'{"name":"bench create %d-%d","description":"made by scripts/bench","modules":[{"id":"%s"}]}',
			tid, i, mod)
		out[#out + 1] = wrk.format("POST", api, hdr, body)
	end
	return out
end

-- read-heavy: of every 100 requests 80 verify, 10 list, 8 get, 2 create,
-- spread through the cycle
local function mixed_reqs(tid)
	local v, l, g, c = verify_reqs(), list_reqs(), get_reqs(), create_reqs(tid)
	local out = {}
	for i = 0, 99 do
		local r
		if i % 50 == 7 then
			r = c[(i % #c) + 1]
		elseif i % 10 == 3 then
			r = l[1]
		elseif i % 25 == 11 or i % 25 == 19 or i % 25 == 23 or i % 25 == 24 then
			r = g[(i % #g) + 1]
		else
			r = v[(i % #v) + 1]
		end
		out[#out + 1] = r
	end
	return out
end

function setup(thread)
	thread:set("tid", #threads + 1)
	threads[#threads + 1] = thread
end

function init(args)
	local s = env("BENCH_SCENARIO")
	local tid = tonumber(wrk.thread:get("tid")) or 1
	if s == "verify" then
		reqs = verify_reqs()
	elseif s == "list" then
		reqs = list_reqs()
	elseif s == "get" then
		reqs = get_reqs()
	elseif s == "create" then
		reqs = create_reqs(tid)
	elseif s == "mixed" then
		reqs = mixed_reqs(tid)
	else
		error("bench.lua: unknown BENCH_SCENARIO " .. s)
	end
	-- threads start at different places in the cycle
	counter = (tid * 37) % #reqs
end

function request()
	counter = counter + 1
	return reqs[(counter % #reqs) + 1]
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		'BENCH {"requests":%d,"duration_us":%d,"bytes":%d,' ..
		'"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
		'"latency_us":{"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d}}\n',
		summary.requests, summary.duration, summary.bytes,
		e.connect, e.read, e.write, e.status, e.timeout,
		latency.mean, latency.stdev, latency.max,
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency:percentile(99.9)))
end
