-- wrk script for the webhook-receiver benchmark: cycles pre-signed Replicate
-- deliveries (one per line: webhook-id, webhook-timestamp, webhook-signature,
-- body, tab-separated). Each wrk thread takes every n-th line, so no delivery
-- is sent twice until a thread's share wraps.
--   wrk -t N -c C -d S -s webhooks.lua http://HOST:PORT -- FILE N
local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	reqs = {}
	local k, n = 0, tonumber(args[2])
	for line in io.lines(args[1]) do
		if k % n == tid then
			local id, ts, sig, body = line:match("([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)")
			table.insert(reqs, wrk.format("POST", "/webhooks/replicate", {
				["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig,
				["Content-Type"] = "application/json" }, body))
		end
		k = k + 1
	end
	i = 0
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
