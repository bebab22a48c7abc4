-- wrk report shared by the benchmark scripts: one RESULT line that Benchmarks/ingest.sh parses.
-- Used alone (-s Benchmarks/report.lua) it measures plain GETs, such as /healthz.
function done(summary, latency, requests)
    io.write(string.format(
        "RESULT requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p99_us=%d p999_us=%d\n",
        summary.requests, summary.duration, summary.errors.status,
        summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        latency:percentile(50), latency:percentile(99), latency:percentile(99.9)))
end
