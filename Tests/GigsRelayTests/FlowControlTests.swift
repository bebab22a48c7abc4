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
