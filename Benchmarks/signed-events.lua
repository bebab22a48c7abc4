-- wrk script: every request is a distinct Gigs event, signed (Standard Webhooks v1) in wrk itself
-- through LuaJIT's FFI calling the system libcrypto, so the server verifies real signatures.
-- Environment: BENCH_KEY_HEX (the HMAC key as hex), BENCH_PATH (default /webhooks/gigs), and
-- BENCH_SIGN=body-hex: sign the way adnanh/webhook's payload-hmac-sha256 rule checks (HMAC of the body
-- alone, hex, in X-Signature: sha256=…) instead of Standard Webhooks, for the peer comparison.
-- BENCH_DELAY_MS: when set, each connection waits this long before each request, which offers a steady
-- rate of connections × 1000 / BENCH_DELAY_MS events/s instead of as many as the server takes.
-- BENCH_SUBJECTS: when set, the events spread over that many subscriptions (data.id), with the current
-- time as their `time`, for ordered delivery per subject.
local ffi = require("ffi")
ffi.cdef [[
const void *EVP_sha256(void);
unsigned char *HMAC(const void *evp_md, const void *key, int key_len, const unsigned char *d, size_t n,
                    unsigned char *md, unsigned int *md_len);
int EVP_EncodeBlock(unsigned char *t, const unsigned char *f, int n);
]]
local crypto = ffi.load("crypto")

local key_hex = os.getenv("BENCH_KEY_HEX")
local key = key_hex:gsub("..", function(byte) return string.char(tonumber(byte, 16)) end)
local path = os.getenv("BENCH_PATH") or "/webhooks/gigs"
local mac = ffi.new("unsigned char[32]")
local mac_len = ffi.new("unsigned int[1]")
local encoded = ffi.new("unsigned char[64]")

local delay_ms = tonumber(os.getenv("BENCH_DELAY_MS") or "")
if delay_ms then
    function delay()
        return delay_ms
    end
end

local thread_counter = 0
function setup(thread)
    thread_counter = thread_counter + 1
    thread:set("thread_id", thread_counter)
end

local sequence = 0
local run = tostring(os.time()) .. tostring(math.random(100000, 999999))

local sign_mode = os.getenv("BENCH_SIGN") or "standard-webhooks"
local subjects = tonumber(os.getenv("BENCH_SUBJECTS") or "")

local function hex_hmac(message)
    crypto.HMAC(crypto.EVP_sha256(), key, #key, message, #message, mac, mac_len)
    local hex = {}
    for i = 0, 31 do hex[#hex + 1] = string.format("%02x", mac[i]) end
    return table.concat(hex)
end

local function sign(message)
    crypto.HMAC(crypto.EVP_sha256(), key, #key, message, #message, mac, mac_len)
    local length = crypto.EVP_EncodeBlock(encoded, mac, 32)
    return "v1," .. ffi.string(encoded, length)
end

function request()
    sequence = sequence + 1
    local id = string.format("evt_bench_%s_%d_%d", run, thread_id, sequence)
    local body = string.format(
        '{"object":"event","id":"%s","type":"com.gigs.subscription.activated","project":"bench",'
        .. '"source":"https://api.gigs.com","specversion":"1.0","time":"%s",'
        .. '"datacontenttype":"application/json","version":"2025-05-22","data":{"object":"subscription",'
        .. '"id":"%s","status":"active","sim":{"object":"sim",'
        .. '"id":"sim_0SNlurA049MEWV4OpCwsNyC9Kn2d","type":"eSIM"},"user":{"object":"user",'
        .. '"id":"usr_0SNlurA049MEWV3Kp0mA8Hhs1Ud8","email":"jane@example.com","fullName":"Jane Doe",'
        .. '"preferredLocale":"en-US"}}}', id,
        subjects and os.date("!%Y-%m-%dT%H:%M:%SZ") or "2026-11-23T10:00:00Z",
        subjects and string.format("sub_bench_%d", (thread_id * 7919 + sequence) % subjects)
            or "sub_0SNlurA049MEWV2gSfSxi00xlPIi")
    local message_id = "msg_" .. id
    local timestamp = tostring(os.time())
    local headers = {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = message_id,
        ["webhook-timestamp"] = timestamp,
    }
    if sign_mode == "body-hex" then
        headers["X-Signature"] = "sha256=" .. hex_hmac(body)
    else
        headers["webhook-signature"] = sign(message_id .. "." .. timestamp .. "." .. body)
    end
    return wrk.format("POST", path, headers, body)
end

dofile("Benchmarks/report.lua")
