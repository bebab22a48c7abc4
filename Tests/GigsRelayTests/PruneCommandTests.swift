import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

/// `gigs-relay prune` against a store the running daemon writes.
@Suite("prune (real binary)", .serialized)
struct PruneCommandTests {
    @Test("prune removes finished events, keeps dead ones unless asked, and says when nothing matched")
    func prune() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try DaemonFixture(
            extraTOML: """
                [actions.ok]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [actions.doomed]
                kind = "http"
                url = "http://127.0.0.1:9/nothing-listens"
                secret = "env:ACTION_SECRET"
                max_attempts = 1
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["ok"]
                [[routes]]
                events = ["com.gigs.subscriptionGroup.deleted"]
                actions = ["doomed"]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": TestSigner.randomSecret()])
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_ok"), to: address) == 202)
        #expect(
            try await fixture.post(SampleEvents.subscriptionGroupDeleted(id: "evt_dead", members: []), to: address)
                == 202)
        #expect(
            try await fixture.post(SampleEvents.body(id: "evt_other", type: "com.gigs.sim.created"), to: address) == 202
        )
        let reader = try EventLogReader(path: fixture.storePath)
        try await eventually("both deliveries finished") {
            Set(try reader.deliveries(DeliveryFilter()).map(\.status)) == [.succeeded, .dead]
        }

        #expect(try await fixture.cli(["prune", "--older-than", "1d", "--yes"]).status == 2)
        let unconfirmed = try await fixture.cli(["prune", "--older-than", "0s"])
        #expect(unconfirmed.status == 64)
        let pruned = try await fixture.cli(["prune", "--older-than", "0s", "--yes"])
        #expect(pruned.status == 0)
        #expect(pruned.output.contains("removed 2 events"))
        #expect(try reader.list(limit: 10).map(\.id.rawValue) == ["evt_dead"])
        let dry = try await fixture.cli(["prune", "--older-than", "0s", "--include-dead", "--dry-run"])
        #expect(dry.output.contains("would remove 1 events"))
        #expect(try reader.count() == 1)
        #expect(try await fixture.cli(["prune", "--older-than", "0s", "--include-dead", "--yes"]).status == 0)
        #expect(try reader.count() == 0)
        #expect(try reader.deliveries(DeliveryFilter()).isEmpty)
        try await daemon.stop()
    }
}

@Suite("Retention")
struct RetentionTests {
    @Test("The retention task prunes finished events past store.retention_days through the writer")
    func retentionPass() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }
        let store = try SQLiteStore(path: directory.file("events.sqlite3"), logger: logger)
        let signer = TestSigner()
        for index in 0..<1_200 {
            _ = try await store.append(try signer.verifiedEvent(id: "evt_\(index)"), actions: [])
        }
        _ = try await store.append(try signer.verifiedEvent(id: "evt_open"), actions: ["a"])
        await RetentionService(store: store, retentionDays: 30, logger: logger).prune()
        #expect(try EventLogReader(path: store.path).count() == 1_201)  // nothing is 30 days old
        try await Task.sleep(for: .milliseconds(5))
        await RetentionService(store: store, retentionDays: 0, logger: logger).prune()
        #expect(try EventLogReader(path: store.path).list(limit: 10).map(\.id.rawValue) == ["evt_open"])
        await store.close()
    }
}

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
