import Foundation
import GigsRelayTesting
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import GigsRelay

/// Health, readiness, metrics and systemd notifications of the real binary.
@Suite("Operations: health, readiness, metrics, systemd (real binary)", .serialized)
struct OperationsProcessTests {
    /// A daemon routing every event to an `http` action at `url` (retries far apart).
    func fixture(url: String, extraTOML: String = "") throws -> DaemonFixture {
        try DaemonFixture(
            extraTOML: """
                [dispatch]
                backoff_initial_ms = 600000
                [actions.backend]
                kind = "http"
                url = "\(url)"
                secret = "env:BACKEND_SECRET"
                [[routes]]
                events = ["*"]
                actions = ["backend"]
                \(extraTOML)
                """
        )
    }

    func start(_ fixture: DaemonFixture, environment: [String: String] = [:]) async throws -> (RelayProcess, String) {
        try await fixture.start(environment: environment.merging(["BACKEND_SECRET": Self.backendSecret]) { a, _ in a })
    }

    static let backendSecret = TestSigner.randomSecret()

    @Test("/readyz is 200 once running; /metrics counts what happened, leaks no secret, and promtool accepts it")
    func readinessAndMetrics() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try fixture(url: receiver.url())
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_metrics"), to: address) == 202)
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_metrics"), to: address) == 200)
        let forger = TestSigner(secret: TestSigner.randomSecret())
        #expect(
            try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_forged"), to: address, signer: forger)
                == 401)
        _ = try await receiver.waitForRequests(1)

        try await eventuallyAsync("the daemon is ready") { try await fixture.get("/readyz", from: address) == 200 }
        let ready = try await fixture.fetch("/readyz", from: address)
        #expect(ready.body.contains(#""status":"ready""#))
        let health = try await fixture.cli(["health", "--url", "http://\(address)/readyz"])
        #expect(health.status == 0)

        var metrics = ""
        try await eventuallyAsync("the delivery is counted") {
            metrics = try await fixture.fetch("/metrics", from: address).body
            return metrics.contains(#"gigs_relay_delivery_attempts_total{action="backend",outcome="succeeded"} 1"#)
        }
        for line in [
            #"gigs_relay_events_stored_total{type="com.gigs.subscription.activated"} 1"#,
            #"gigs_relay_events_duplicate_total{type="com.gigs.subscription.activated"} 1"#,
            #"gigs_relay_webhook_rejections_total{reason="invalid_signature"} 1"#,
            #"gigs_relay_signature_secret_matches_total{secret="0"} 2"#,
            #"gigs_relay_http_requests_total{route="webhook",status="202"} 1"#,
            #"gigs_relay_http_requests_total{route="webhook",status="401"} 1"#,
            "gigs_relay_ingest_duration_seconds_count 3",
            "gigs_relay_dispatch_lag_seconds_count 1",
            #"gigs_relay_build_info{version="\#(RelayVersion.current)"} 1"#,
        ] {
            #expect(metrics.contains(line), "missing \(line)")
        }
        #expect(!metrics.contains(fixture.signer.encodedSecret))
        #expect(!metrics.contains(Self.backendSecret))
        #expect(!metrics.contains("evt_metrics"))
        let (status, lint) = try runTool(["promtool", "check", "metrics"], input: metrics)
        #expect(status == 0, "promtool: \(lint)")
        try await daemon.stop()
    }

    @Test("A backlog beyond ready.max_pending makes /readyz 503 with the reason, and `health` exit 1")
    func backlogNotReady() async throws {
        // Nothing listens on port 9: the delivery fails and waits ten minutes for its retry.
        let fixture = try fixture(url: "http://127.0.0.1:9/hook", extraTOML: "[ready]\nmax_pending = 0")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        try await eventuallyAsync("the daemon is ready") { try await fixture.get("/readyz", from: address) == 200 }
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_stuck"), to: address) == 202)
        try await eventuallyAsync("the daemon is not ready") { try await fixture.get("/readyz", from: address) == 503 }
        let answer = try await fixture.fetch("/readyz", from: address)
        #expect(answer.body.contains("backlog: 1 deliveries pending (ready.max_pending = 0)"))
        #expect(answer.body.contains(#""pending":1"#))
        let health = try await fixture.cli(["health", "--url", "http://\(address)/readyz"])
        #expect(health.status == 1)
        #expect(health.output.contains("ready.max_pending"))
        try await daemon.stop()
    }

    @Test("With [admin] listen, health and metrics move to their own listener")
    func adminListener() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try fixture(url: receiver.url(), extraTOML: "[admin]\nlisten = \"127.0.0.1:0\"")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture)
        let admin = try await daemon.adminAddress()
        #expect(admin != address)
        try await eventuallyAsync("the daemon is ready") { try await fixture.get("/readyz", from: admin) == 200 }
        #expect(try await fixture.get("/healthz", from: admin) == 200)
        #expect(try await fixture.get("/metrics", from: admin) == 200)
        for path in ["/healthz", "/readyz", "/metrics"] {
            #expect(try await fixture.get(path, from: address) == 404, "\(path) on the webhook listener")
        }
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_admin"), to: address) == 202)
        try await daemon.stop()
    }

    @Test("systemd gets WATCHDOG=1 pings and STATUS lines with the store's counts")
    func watchdogAndStatus() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try fixture(url: receiver.url())
        defer { fixture.directory.remove() }
        let socket = try NotifySocket(path: fixture.directory.file("notify.sock"))
        let (daemon, address) = try await start(
            fixture, environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000"])
        try await socket.waitFor("READY=1")
        try await socket.waitFor("WATCHDOG=1")
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_status"), to: address) == 202)
        try await eventually("a status line with the counts") {
            socket.messages.contains {
                $0.contains("STATUS=Listening on \(address); 1 events received, 0 deliveries pending, 0 dead")
            }
        }
        try await daemon.stop()
        try await socket.waitFor("STOPPING=1")
    }
}

extension OperationsProcessTests {
    @Test("A daemon at max_connections is busy, not dead: the watchdog keeps pinging")
    func watchdogAtConnectionCap() async throws {
        let fixture = try DaemonFixture(serverTOML: "max_connections = 1")
        defer { fixture.directory.remove() }
        let socket = try NotifySocket(path: fixture.directory.file("notify.sock"))
        let (daemon, address) = try await fixture.start(environment: [
            "NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000",
        ])
        try await socket.waitFor("WATCHDOG=1")
        // One idle client holds the only connection; a new loopback connection would wait in the backlog.
        let idle = try RawHTTPConnection(address: address)
        try await Task.sleep(for: .milliseconds(300))
        let before = socket.messages.filter { $0.contains("WATCHDOG=1") }.count
        try await Task.sleep(for: .seconds(2))
        #expect(socket.messages.filter { $0.contains("WATCHDOG=1") }.count >= before + 2)
        #expect(!daemon.log.contains("Withholding"))
        _ = idle
        try await daemon.stop()
    }

    @Test("log.format = \"json\" writes one JSON object per line")
    func jsonLogs() async throws {
        let fixture = try DaemonFixture(logFormat: "json")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let forger = TestSigner(secret: TestSigner.randomSecret())
        #expect(
            try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_j"), to: address, signer: forger) == 401)
        try await daemon.stop()
        let lines = daemon.log.split(separator: "\n")
        #expect(lines.count > 3)
        var levels: Set<String> = []
        for line in lines {
            let object = try #require(
                try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not JSON: \(line)")
            #expect(object["message"] is String)
            #expect(object["time"] is String)
            if let level = object["level"] as? String { levels.insert(level) }
        }
        #expect(levels.isSuperset(of: ["info", "notice", "warning"]))
        let listening = try #require(lines.first { $0.contains("\"Listening\"") })
        #expect(listening.contains(#""relay.listen.address":"\#(address)""#))
    }

    @Test("Under journald each line starts with the syslog priority of its level")
    func journaldPriorities() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["JOURNAL_STREAM": "8:1234"])
        let forger = TestSigner(secret: TestSigner.randomSecret())
        #expect(
            try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_p"), to: address, signer: forger) == 401)
        try await daemon.stop()
        let lines = daemon.log.split(separator: "\n")
        #expect(lines.allSatisfy { $0.hasPrefix("<") })
        #expect(lines.contains { $0.hasPrefix("<6>info ") })
        #expect(lines.contains { $0.hasPrefix("<5>notice ") && $0.contains("Listening") })
        #expect(lines.contains { $0.hasPrefix("<4>warning ") && $0.contains("invalid_signature") })
    }
}
