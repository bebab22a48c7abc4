import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

/// Operator changes in bounded batches, dry runs as reads, and no delivery without its event.
@Suite("Store maintenance")
struct StoreMaintenanceTests {
    let directory = TemporaryDirectory()
    var path: String { directory.file("events.sqlite3") }

    /// A store with `count` events routed to action `a`, every delivery made dead.
    func deadStore(count: Int) async throws -> [DeliveryID] {
        let store = try SQLiteStore(path: path, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        let signer = TestSigner()
        for index in 0..<count {
            _ = try await store.append(try signer.verifiedEvent(id: "evt_\(index)"), actions: ["a"])
        }
        await store.close()
        let connection = try SQLiteConnection(path: path, mode: .create)
        try connection.execute("UPDATE deliveries SET status = 'dead', attempts = 8, last_error = 'HTTP 400'")
        return try EventLogReader(path: path).deliveries(DeliveryFilter(limit: count)).map(\.id)
    }

    @Test("Dry runs of prune and retry only read: they answer while another writer holds the lock")
    func dryRunsRead() async throws {
        defer { directory.remove() }
        let dead = try await deadStore(count: 3)
        let maintenance = try StoreMaintenance(path: path)
        let writer = try SQLiteConnection(path: path, mode: .create, busyTimeoutMilliseconds: 100)
        try writer.execute("BEGIN IMMEDIATE")
        let started = ContinuousClock.now
        #expect(try maintenance.prune(before: unixMilliseconds() + 1000, includeDead: true, dryRun: true) == 3)
        #expect(try maintenance.retry(dead, dryRun: true) == dead)
        #expect(ContinuousClock.now - started < .seconds(2))
        try writer.execute("ROLLBACK")
        #expect(try EventLogReader(path: path).count() == 3)
    }

    @Test("Retrying every dead delivery and replaying many events go in batches; all of them land")
    func batches() async throws {
        defer { directory.remove() }
        let dead = try await deadStore(count: 1_200)
        let maintenance = try StoreMaintenance(path: path)
        #expect(try maintenance.deadDeliveries().count == 1_200)
        #expect(try maintenance.retry(dead).count == 1_200)
        let reader = try EventLogReader(path: path)
        #expect(try reader.deliveries(DeliveryFilter(status: .pending, limit: 2_000)).count == 1_200)
        let events = try maintenance.events(type: "com.gigs.subscription.activated", since: .distantPast, until: nil)
        let created = try maintenance.replay(events.map { ($0.sequence, "a") })
        #expect(created.compactMap { $0 }.count == 1_200)
    }

    @Test("A replay of an event that retention removed meanwhile creates nothing; writers enforce references")
    func replayOfRemovedEvent() async throws {
        defer { directory.remove() }
        _ = try await deadStore(count: 2)
        let maintenance = try StoreMaintenance(path: path)
        let events = try maintenance.events(type: "com.gigs.subscription.activated", since: .distantPast, until: nil)
        let plan = events.map { ($0.sequence, "a") }
        #expect(try maintenance.prune(before: unixMilliseconds() + 1000, includeDead: true, dryRun: false) == 2)
        #expect(try maintenance.replay(plan).allSatisfy { $0 == nil })
        #expect(try EventLogReader(path: path).deliveries(DeliveryFilter()).isEmpty)
        let connection = try SQLiteConnection(path: path, mode: .create)
        #expect(throws: SQLiteError.self) {
            try connection.execute(
                "INSERT INTO deliveries (event_seq, action, status, next_attempt_at, created_at, updated_at) "
                    + "VALUES (999, 'a', 'pending', 0, 0, 0)")
        }
    }
}
