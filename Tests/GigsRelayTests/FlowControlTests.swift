import Foundation
import GigsRelayTesting
import Testing

@testable import GigsRelay

/// The token bucket and circuit breaker alone, on a made-up clock.
@Suite("Flow control")
struct FlowControlTests {
    static func settings(_ toml: String) throws -> [String: ActionConfiguration] {
        try TestConfigurations.execAction(toml).actions
    }

    static let room = ["a": ClaimRequest.Action(room: 100, maxAttempts: 5)]

    @Test("The bucket allows its burst, then one delivery per 1/rate seconds, and says when the next token comes")
    func bucket() throws {
        let settings = try Self.settings("rate_per_second = 4\nrate_burst = 2\ncircuit_failures = 0")
        let flow = FlowControl()
        let start = ContinuousClock.now
        var limited = flow.limit(Self.room, settings: settings, now: start)
        #expect(limited.actions["a"]?.room == 2)
        #expect(limited.nextToken["a"] == start.advanced(by: .milliseconds(250)) && limited.retryAt == nil)
        flow.started("a", count: 2)
        limited = flow.limit(Self.room, settings: settings, now: start)
        #expect(limited.actions["a"]?.room == 0)
        #expect(limited.nextToken["a"] == start.advanced(by: .milliseconds(250)))
        limited = flow.limit(Self.room, settings: settings, now: start.advanced(by: .milliseconds(260)))
        #expect(limited.actions["a"]?.room == 1)
        flow.started("a", count: 1)
        // Idle for a minute: at most the burst is saved up.
        limited = flow.limit(Self.room, settings: settings, now: start.advanced(by: .seconds(60)))
        #expect(limited.actions["a"]?.room == 2)
        // An action without limits is left alone.
        let unlimited = FlowControl().limit(
            Self.room, settings: try Self.settings("circuit_failures = 0"), now: start)
        #expect(unlimited.actions["a"]?.room == 100 && unlimited.retryAt == nil && unlimited.nextToken.isEmpty)
    }

    @Test("Failures in a row open the circuit; after the cooldown one probe goes; its result closes or reopens it")
    func circuit() throws {
        let settings = try Self.settings("circuit_failures = 3\ncircuit_cooldown_seconds = 10")
        let action = settings["a"]
        let flow = FlowControl()
        let start = ContinuousClock.now
        let failure = AttemptOutcome.retry(error: "HTTP 503", nextAttemptAt: 0)
        #expect(flow.finished("a", outcome: failure, settings: action, now: start) == nil)
        #expect(flow.finished("a", outcome: .succeeded, settings: action, now: start) == nil)
        #expect(flow.finished("a", outcome: failure, settings: action, now: start) == nil)
        #expect(flow.finished("a", outcome: .dead(error: "HTTP 410"), settings: action, now: start) == nil)
        #expect(
            flow.finished("a", outcome: failure, settings: action, now: start)
                == .init(action: "a", from: .closed, to: .open, error: "HTTP 503"))
        // Attempts that were running when it opened end without changing it again.
        #expect(flow.finished("a", outcome: failure, settings: action, now: start) == nil)
        var limited = flow.limit(Self.room, settings: settings, now: start.advanced(by: .seconds(5)))
        #expect(limited.actions["a"]?.room == 0)
        #expect(limited.retryAt == start.advanced(by: .seconds(10)))
        limited = flow.limit(Self.room, settings: settings, now: start.advanced(by: .seconds(10)))
        #expect(limited.transitions == [.init(action: "a", from: .open, to: .halfOpen, error: nil)])
        #expect(limited.actions["a"]?.room == 1)
        flow.started("a", count: 1)
        #expect(
            flow.limit(Self.room, settings: settings, now: start.advanced(by: .seconds(11))).actions["a"]?.room == 0)
        #expect(
            flow.finished("a", outcome: failure, settings: action, now: start.advanced(by: .seconds(12)))
                == .init(action: "a", from: .halfOpen, to: .open, error: "HTTP 503"))
        limited = flow.limit(Self.room, settings: settings, now: start.advanced(by: .seconds(22)))
        #expect(limited.actions["a"]?.room == 1)
        flow.started("a", count: 1)
        #expect(
            flow.finished("a", outcome: .succeeded, settings: action, now: start.advanced(by: .seconds(23)))
                == .init(action: "a", from: .halfOpen, to: .closed, error: nil))
        #expect(
            flow.limit(Self.room, settings: settings, now: start.advanced(by: .seconds(23))).actions["a"]?.room == 100)
    }

    @Test("Flow keys are read, shown by config check, and refused out of range")
    func configuration() throws {
        let action = try #require(
            try Self.settings("rate_per_second = 0.5\ncircuit_failures = 4\ncircuit_cooldown_seconds = 60")["a"])
        #expect(action.rate == RateLimit(perSecond: 0.5, burst: 1))
        #expect(action.circuit == CircuitBreakerSettings(failures: 4, cooldownSeconds: 60))
        #expect(try Self.settings("")["a"]?.circuit == CircuitBreakerSettings(failures: 10, cooldownSeconds: 30))
        #expect(try Self.settings("")["a"]?.rate == nil)
        #expect(try Self.settings("rate_per_second = 20")["a"]?.rate == RateLimit(perSecond: 20, burst: 20))
        let shown = try TestConfigurations.execAction("rate_per_second = 0.5").effectiveTOML
        #expect(shown.contains("rate_per_second = 0.5\nrate_burst = 1\ncircuit_failures = 10"))
        for (toml, key) in [
            ("rate_per_second = 0", "actions.a.rate_per_second"),
            ("rate_per_second = \"fast\"", "actions.a.rate_per_second"),
            ("rate_burst = 3", "actions.a.rate_burst"),
            ("circuit_failures = -1", "actions.a.circuit_failures"),
            ("circuit_cooldown_seconds = 0", "actions.a.circuit_cooldown_seconds"),
        ] {
            let error = #expect(throws: ConfigurationError.self) { try Self.settings(toml) }
            #expect(error?.key == key)
        }
    }
}

/// Rate limits, circuit breakers, pause and resume with the real binary and a real receiver.
@Suite("Flow control (real binary)", .serialized)
struct FlowControlProcessTests {
    let secret = TestSigner.randomSecret()

    func fixture(_ receiver: WebhookReceiver, action: String) throws -> DaemonFixture {
        try DaemonFixture.httpBackend(receiver, action: action)
    }

    func post(_ count: Int, to fixture: DaemonFixture, at address: String, prefix: String) async throws {
        for index in 0..<count {
            #expect(
                try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_\(prefix)\(index)"), to: address)
                    == 202)
        }
    }

    @Test("rate_per_second: the measured attempt rate is within 10 % of the limit; waiting spends no attempt")
    func rateLimit() async throws {
        let receiver = try WebhookReceiver(secret: secret)
        let fixture = try fixture(receiver, action: "rate_per_second = 20\nrate_burst = 1")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        // Queued first (paused), so that the rate measured is the limit's, not how fast the test posts.
        #expect(try await fixture.cli(["actions", "pause", "backend"]).status == 0)
        try await post(41, to: fixture, at: address, prefix: "rate")
        #expect(try await fixture.cli(["actions", "resume", "backend"]).status == 0)
        let received = try await receiver.waitForRequests(41, timeout: .seconds(20)).compactMap(\.received)
        let first = try #require(received.min())
        let last = try #require(received.max())
        let rate = Double(received.count - 1) / (last - first)
        #expect(abs(rate - 20) <= 2, "measured \(rate) attempts/s")
        let deliveries = try EventLogReader(path: fixture.storePath).deliveries(DeliveryFilter())
        try await eventually("every delivery succeeded") {
            try EventLogReader(path: fixture.storePath).deliveries(DeliveryFilter(status: .succeeded)).count == 41
        }
        #expect(deliveries.allSatisfy { $0.attempts <= 1 })
        #expect(receiver.requests.count == 41)
        // Idle again, the dispatcher does not claim once per token (20 a second): only its poll remains.
        func claims() async throws -> Double {
            let metrics = try await fixture.fetch("/metrics", from: address).body
            let line = metrics.split(separator: "\n").first { $0.hasPrefix("gigs_relay_claims_total ") }
            return Double(line?.split(separator: " ").last ?? "") ?? -1
        }
        try await Task.sleep(for: .milliseconds(500))
        let before = try await claims()
        try await Task.sleep(for: .seconds(2))
        let idle = try await claims() - before
        #expect(before > 0 && idle <= 6, "\(idle) claims in 2 s of idling")
        try await daemon.stop()
    }

    @Test(
        "A failing receiver opens the circuit, attempts stop, the probe after recovery closes it, nothing spent while open"
    )
    func circuitBreaker() async throws {
        let receiver = try WebhookReceiver(secret: secret, statuses: "503")
        let fixture = try fixture(
            receiver, action: "max_concurrency = 1\ncircuit_failures = 3\ncircuit_cooldown_seconds = 5")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        try await post(5, to: fixture, at: address, prefix: "cb")
        _ = try await receiver.waitForRequests(3)
        try await eventually("the circuit opened") { daemon.log.contains("Circuit opened") }
        // The receiver recovers at once; the probe comes only after the cooldown.
        try receiver.setStatuses("503 503 503 200")
        let (status, listed) = try await fixture.cli(["actions"])
        #expect(status == 0)
        #expect(listed.contains("circuit open"), "\(listed)")
        try await Task.sleep(for: .milliseconds(1500))
        #expect(receiver.requests.count == 3, "attempts went while the circuit was open")
        try await eventually("every delivery succeeded") {
            try EventLogReader(path: fixture.storePath).deliveries(DeliveryFilter(status: .succeeded)).count == 5
        }
        #expect(daemon.log.contains("Circuit half-open"))
        #expect(daemon.log.contains("Circuit closed"))
        // Three failures, one successful probe, then the other four: nothing was attempted while open.
        #expect(receiver.requests.count == 8)
        let attempts = try EventLogReader(path: fixture.storePath).deliveries(DeliveryFilter()).map(\.attempts)
        #expect(attempts.reduce(0, +) == 8)
        let metrics = try await fixture.fetch("/metrics", from: address).body
        #expect(metrics.contains(#"gigs_relay_circuit_transitions_total{action="backend",state="open"} 1"#))
        #expect(metrics.contains(#"gigs_relay_action_circuit_state{action="backend"} 0"#))
        let (_, after) = try await fixture.cli(["actions", "list", "--json"])
        #expect(after.contains(#""circuit" : "closed""#), "\(after)")
        try await daemon.stop()
    }

    @Test("actions pause holds an action's deliveries without attempts while the daemon runs; resume sends them")
    func pauseAndResume() async throws {
        let receiver = try WebhookReceiver(secret: secret)
        let fixture = try fixture(receiver, action: "")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret])
        var (status, output) = try await fixture.cli(["actions", "pause", "backend"])
        #expect(status == 0 && output.contains("paused backend"))
        (status, _) = try await fixture.cli(["actions", "pause", "backend"])
        #expect(status == 2)
        (status, output) = try await fixture.cli(["actions", "pause", "nope"])
        #expect(status == 1 && output.contains("no action named nope"))
        try await post(3, to: fixture, at: address, prefix: "pause")
        try await eventually("the daemon saw the pause") { daemon.log.contains("Action paused by an operator") }
        try await Task.sleep(for: .milliseconds(1200))
        #expect(receiver.requests.isEmpty)
        (status, output) = try await fixture.cli(["actions"])
        let row = try #require(output.split(separator: "\n").first { $0.hasPrefix("backend") })
        #expect(
            row.split(separator: " ", omittingEmptySubsequences: true).prefix(6) == [
                "backend", "http", "paused", "0", "3", "0",
            ])
        (status, output) = try await fixture.cli(["actions", "resume", "backend"])
        #expect(status == 0 && output.contains("resumed backend"))
        _ = try await receiver.waitForRequests(3, timeout: .seconds(5))
        try await eventually("the daemon saw the resume") { daemon.log.contains("Action resumed") }
        let metrics = try await fixture.fetch("/metrics", from: address).body
        #expect(metrics.contains(#"gigs_relay_action_paused{action="backend"} 0"#))
        try await daemon.stop()
    }
}
