import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// `[tracing]` with the real binary and a real OTLP/HTTP collector (`Tests/Support/otlp_receiver.py`).
@Suite("Tracing (real binary, OTLP/HTTP collector)", .serialized)
struct TracingProcessTests {
    let secret = TestSigner.randomSecret()
    /// The trace of the proxy in front, which ingest must continue.
    static let proxyTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
    static let proxySpan = "00f067aa0ba902b7"

    /// An activated subscription whose user has a unique email and name, which no span may carry.
    static func event(id: String, email: String, name: String) -> [UInt8] {
        Array(
            """
            {"object":"event","id":"\(id)","type":"com.gigs.subscription.activated","project":"dev-project",
            "time":"2026-11-23T10:00:00Z","data":{"object":"subscription","id":"sub_traced",
            "user":{"object":"user","id":"usr_traced","email":"\(email)","fullName":"\(name)"}}}
            """.utf8)
    }

    @Test("One trace from the webhook to every attempt, across a restart; the downstream and the command get it")
    func oneTracePerEvent() async throws {
        let collector = try OTLPReceiver()
        let receiver = try WebhookReceiver(secret: secret, statuses: "503 200")
        let email = "traced-\(UUID().uuidString.prefix(8))@example.com"
        let name = "Tracy \(UUID().uuidString.prefix(8))"
        let fixture = try DaemonFixture(
            logLevel: "debug", logFormat: "json",
            extraTOML: """
                [dispatch]
                backoff_initial_ms = 2000
                backoff_max_ms = 2000
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [actions.script]
                kind = "exec"
                command = ["/bin/sh", "-c", "printf %s \\"$TRACEPARENT\\" > traceparent.txt"]
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["backend", "script"]
                [tracing]
                otlp_endpoint = "\(collector.url)"
                headers = { "authorization" = "env:OTLP_AUTH" }
                export_timeout_seconds = 2
                """)
        defer { fixture.directory.remove() }
        let token = "Bearer otlp-\(UUID().uuidString)"
        let environment = ["ACTION_SECRET": secret, "OTLP_AUTH": token]
        var (daemon, address) = try await fixture.start(environment: environment)
        let body = Self.event(id: "evt_traced", email: email, name: name)
        let incoming = "00-\(Self.proxyTrace)-\(Self.proxySpan)-01"
        #expect(try await fixture.post(body, to: address, headers: ["traceparent": incoming]) == 202)
        _ = try await receiver.waitForRequests(1)
        // Restart between the two attempts: the second still joins the event's trace.
        try await daemon.stop()
        #expect(receiver.requests.count == 1)
        (daemon, address) = try await fixture.start(environment: environment)
        let requests = try await receiver.waitForRequests(2)
        try await daemon.stop()

        let spans = collector.spans.filter { $0.traceId == Self.proxyTrace }
        let server = try #require(spans.first { $0.kind == 2 })
        #expect(server.name == "POST /webhooks/gigs")
        #expect(server.parentSpanId == Self.proxySpan)
        #expect(server.service == "gigs-relay")
        #expect(server.attributes["gigs_relay.event.id"] == "evt_traced")
        #expect(server.attributes["gigs_relay.event.type"] == "com.gigs.subscription.activated")
        #expect(server.attributes["gigs_relay.event.subject"] == "sub_traced")
        #expect(server.attributes["gigs_relay.webhook.verification"] == "verified")
        #expect(server.attributes["gigs_relay.event.duplicate"] == "false")
        #expect(server.attributes["http.response.status_code"] == "202")
        #expect(server.attributes["http.request.body.size"] == "\(body.count)")
        let store = try #require(spans.first { $0.name == "store append" })
        #expect(store.parentSpanId == server.spanId)
        #expect(Int(store.attributes["gigs_relay.store.batch_size"] ?? "") ?? 0 >= 1)
        let attempts = spans.filter { $0.name == "deliver backend" }.sorted {
            ($0.attributes["gigs_relay.attempt"] ?? "") < ($1.attributes["gigs_relay.attempt"] ?? "")
        }
        #expect(attempts.count == 2)
        #expect(attempts.allSatisfy { $0.parentSpanId == server.spanId && $0.kind == 3 })
        #expect(attempts.map { $0.attributes["gigs_relay.attempt"] } == ["1", "2"])
        #expect(attempts.map { $0.attributes["gigs_relay.outcome"] } == ["failed", "succeeded"])
        #expect(attempts.map { $0.attributes["http.response.status_code"] } == ["503", "200"])
        #expect(attempts.map { $0.attributes["gigs_relay.action.kind"] } == ["http", "http"])
        #expect(attempts.first?.attributes["gigs_relay.retry_at"] != nil)
        #expect(attempts.map(\.status) == [2, 0])
        // The downstream got each attempt's own span as the parent of its spans.
        let sent = requests.compactMap { $0.headers["traceparent"] }
        #expect(sent.count == 2)
        #expect(sent == attempts.map { "00-\(Self.proxyTrace)-\($0.spanId)-01" })
        // The command got TRACEPARENT, its attempt's span.
        let script = try #require(spans.first { $0.name == "deliver script" })
        #expect(script.attributes["process.exit.code"] == "0")
        let passed = try String(contentsOfFile: fixture.directory.file("traceparent.txt"), encoding: .utf8)
        #expect(passed == "00-\(Self.proxyTrace)-\(script.spanId)-01")
        // The event's JSON log lines carry its trace id.
        #expect(daemon.log.contains(#""trace_id":"\#(Self.proxyTrace)""#))
        // The API shows it.
        (daemon, address) = try await fixture.start(environment: environment)
        let shown = try await fixture.fetch("/api/v1/events/evt_traced", from: address)
        #expect(shown.body.contains(#""traceId":"\#(Self.proxyTrace)""#), "\(shown.body)")
        try await daemon.stop()
        // No secret, token or payload field left in what was exported.
        let exported = String(decoding: collector.rawBytes, as: UTF8.self)
        #expect(!exported.isEmpty)
        for forbidden in [secret, fixture.signer.encodedSecret, token, email, name] {
            #expect(!exported.contains(forbidden), "\(forbidden) was exported")
        }
    }

    @Test("A collector down, then black-holing, costs ingest nothing: every event stored, drops counted, logged once")
    func collectorTrouble() async throws {
        let blackHole = try OTLPReceiver(mode: .blackhole)
        // Nothing listens on the port of a collector that has stopped.
        let unreachable: String
        do {
            let stopped = try OTLPReceiver()
            unreachable = stopped.url
        }
        for (endpoint, what) in [(unreachable, "unreachable"), (blackHole.url, "black-holing")] {
            let fixture = try DaemonFixture(
                extraTOML: """
                    [tracing]
                    otlp_endpoint = "\(endpoint)"
                    max_queued_spans = 16
                    export_timeout_seconds = 1
                    """)
            defer { fixture.directory.remove() }
            let (daemon, address) = try await fixture.start()
            for index in 0..<150 {
                #expect(
                    try await fixture.post(
                        SampleEvents.subscriptionActivated(id: "evt_\(what)_\(index)"), to: address,
                        timeout: .seconds(5))
                        == 202, "\(what)")
            }
            try await eventuallyAsync(timeout: .seconds(30), "\(what): dropped spans counted") {
                let metrics = try await fixture.fetch("/metrics", from: address).body
                return Self.value(of: "gigs_relay_trace_spans_dropped_total", in: metrics) > 0
            }
            #expect(try EventLogReader(path: fixture.storePath).count() == 150, "\(what)")
            try await daemon.stop(timeout: .seconds(30))
            let warnings = daemon.log.components(separatedBy: "Trace export is failing").count - 1
            #expect(warnings == 1, "\(what): \(daemon.log)")
        }
    }

    /// A counter's value in Prometheus text.
    static func value(of name: String, in text: String) -> Double {
        for line in text.split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.split(separator: " ").last ?? "") ?? 0
        }
        return 0
    }
}
