import AsyncHTTPClient
import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

/// The dispatcher on a manual clock: what must not happen yet is checked at a moment the clock
/// names, not after a sleep.
@Suite("Dispatcher on a manual clock")
struct DispatcherClockTests {
    /// A SQLite store and a running dispatcher with one `exec` action "a" that appends a line per
    /// attempt to a file and exits with `exitStatus`.
    final class Harness {
        let directory = TemporaryDirectory()
        let clock = ManualClock()
        let handOff = DeliveryHandOff()
        var wakeup: WakeupSignal { handOff.wakeup }
        let metrics = RelayMetrics()
        let store: SQLiteStore
        let configuration: RelayConfiguration
        let running: Task<Void, any Error>
        var attemptsFile: String { directory.file("attempts") }

        init(exitStatus: Int, actionKeys: String) throws {
            let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
            configuration = try RelayConfiguration(
                toml: """
                    [webhook]
                    secrets = ["env:A"]
                    [actions.a]
                    kind = "exec"
                    command = ["/bin/sh", "-c", "echo attempt >> \(directory.file("attempts")); exit \(exitStatus)"]
                    \(actionKeys)
                    """)
            store = try SQLiteStore(
                path: directory.file("events.sqlite3"), clock: clock, logger: logger,
                handOff: handOff)
            let live = LiveSettings(
                try LiveSettings.make(
                    configuration, environment: ["A": TestSigner().encodedSecret], client: HTTPClient.shared,
                    clock: clock))
            let dispatcher = Dispatcher(
                store: store, live: live, configuration: configuration, handOff: handOff, metrics: metrics,
                clock: clock, logger: logger)
            running = Task { try await dispatcher.run() }
        }

        /// Stores one event for action "a", received at the clock's now.
        func append(_ id: String) async throws {
            let event = try TestSigner().verifiedEvent(id: id, clock: clock)
            let deliveries = [RouteConfiguration(events: [.any], actions: ["a"])].deliveries(
                for: event, settings: configuration.actions)
            _ = try await store.append(event, deliveries: deliveries)
        }

        var attempts: Int {
            ((try? String(contentsOfFile: attemptsFile, encoding: .utf8)) ?? "").split(separator: "\n").count
        }

        func delivery() throws -> StoredDelivery? {
            try EventLogReader(path: store.path).deliveries(DeliveryFilter()).first
        }

        /// Moves the clock, wakes the dispatcher and waits until it has claimed at the new time.
        func advance(by duration: Duration) async throws {
            clock.advance(by: duration)
            let before = claims
            wakeup.signal()
            try await eventually("the dispatcher claimed at the new time") { self.claims > before }
        }

        /// `gigs_relay_claims_total` as the metrics endpoint shows it.
        var claims: Double { metric("gigs_relay_claims_total ") }

        /// The value of the first metric line that starts with `prefix` (-1: none).
        func metric(_ prefix: String) -> Double {
            let line = String(decoding: metrics.exposition(), as: UTF8.self).split(separator: "\n").first {
                $0.hasPrefix(prefix)
            }
            return Double(line?.split(separator: " ").last ?? "") ?? -1
        }

        func stop() async {
            running.cancel()
            _ = await running.result
            await store.close()
            directory.remove()
        }
    }

    @Test("New deliveries the dispatcher has room for run without a claim, and their finish asks for none")
    func handedOverWithoutClaims() async throws {
        let harness = try Harness(exitStatus: 0, actionKeys: "")
        try await eventually("the first claim") { harness.claims >= 1 }
        let started = ContinuousClock.now
        let before = harness.claims
        for index in 1...10 {
            try await harness.append("evt_\(index)")
            try await eventually("attempt \(index)") { harness.attempts == index }
        }
        try await eventually("every delivery succeeded") {
            try EventLogReader(path: harness.store.path).deliveries(DeliveryFilter()).allSatisfy {
                $0.status == .succeeded
            }
        }
        // Without the hand-off each event costs a claim after its append and another after its attempt;
        // with it only the timer claims, once a second.
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        #expect(harness.claims - before <= seconds + 2, "\(harness.claims - before) claims in \(seconds) s")
        #expect(harness.metric("gigs_relay_deliveries_handed_over_total ") == 10)
        await harness.stop()
    }

    @Test("A failed delivery is not attempted again before its backoff has passed, and is once the clock gets there")
    func retryWaitsForItsBackoff() async throws {
        // Backoff 60 s capped at 60 s: with jitter the retry comes 30 to 60 s after the failure.
        let harness = try Harness(exitStatus: 1, actionKeys: "backoff_initial_ms = 60000\nbackoff_max_ms = 60000")
        try await harness.append("evt_1")
        try await eventually("the first attempt failed") {
            try harness.attempts == 1 && harness.delivery()?.status == .failed
        }
        let due = unixMilliseconds(try #require(try harness.delivery()?.nextAttemptAt))
        #expect((30_000...60_000).contains(due - harness.clock.now), "\(due - harness.clock.now) ms")

        // A millisecond before it is due the dispatcher looks again and leaves it alone.
        try await harness.advance(by: .milliseconds(due - harness.clock.now - 1))
        #expect(try harness.delivery()?.status == .failed)
        #expect(try harness.delivery()?.attempts == 1)

        // At the moment it is due it goes.
        try await harness.advance(by: .milliseconds(1))
        try await eventually("the second attempt ran") { harness.attempts == 2 }
        await harness.stop()
    }

    @Test("An ordered delivery waits its reorder window from the moment it was received, then goes")
    func orderedDeliveryWaitsItsWindow() async throws {
        let harness = try Harness(exitStatus: 0, actionKeys: "ordering = \"subject\"\nreorder_window_ms = 60000")
        try await harness.append("evt_1")
        #expect(try harness.delivery()?.subject != nil)
        #expect(try harness.delivery()?.status == .pending)
        try await harness.advance(by: .milliseconds(59_999))
        #expect(try harness.delivery()?.status == .pending)
        #expect(harness.attempts == 0)
        try await harness.advance(by: .milliseconds(1))
        try await eventually("the delivery succeeded") { try harness.delivery()?.status == .succeeded }
        #expect(harness.attempts == 1)
        await harness.stop()
    }

    @Test("An open circuit holds an action's due deliveries for its whole cooldown, then lets one probe go")
    func circuitHoldsForItsCooldown() async throws {
        let harness = try Harness(
            exitStatus: 1,
            actionKeys: "circuit_failures = 2\ncircuit_cooldown_seconds = 30\nbackoff_initial_ms = 1\nmax_attempts = 10"
        )
        try await harness.append("evt_1")
        try await eventually("the first attempt failed") {
            try harness.attempts == 1 && harness.delivery()?.status == .failed
        }
        try await harness.advance(by: .milliseconds(1))
        try await eventually("the second failure opened the circuit") {
            harness.metric(#"gigs_relay_circuit_transitions_total{action="a",state="open"}"#) == 1
        }
        // Due all along, but held: no attempt is spent while the circuit is open.
        try await harness.advance(by: .seconds(1))
        try await harness.advance(by: .milliseconds(28_998))
        #expect(harness.attempts == 2)
        #expect(try harness.delivery()?.attempts == 2)
        try await harness.advance(by: .milliseconds(2))
        try await eventually("the probe attempt went") { harness.attempts == 3 }
        await harness.stop()
    }
}
