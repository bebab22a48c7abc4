import Foundation
import GigsRelay
import GigsRelayTesting
import Logging
import Testing

@Suite("Event store")
struct EventStoreTests {
    let directory = TemporaryDirectory()
    let signer = TestSigner()
    var path: String { directory.file("var/events.sqlite3") }

    func withStore<T>(_ body: (SQLiteStore) async throws -> T) async throws -> T {
        let store = try SQLiteStore(path: path, logger: Logger(label: "test"))
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    @Test("The first append is accepted, the same id again is a duplicate, and one row remains")
    func sequentialDuplicates() async throws {
        defer { directory.remove() }
        let event = try signer.verifiedEvent(id: "evt_seq")
        try await withStore { (store: SQLiteStore) async throws in
            #expect(try await store.append(event) == .accepted)
            #expect(try await store.append(event) == .duplicate)
            #expect(try await store.append(try signer.verifiedEvent(id: "evt_seq")) == .duplicate)
        }
        let reader = try EventLogReader(path: path)
        #expect(try reader.rowCount(id: EventID("evt_seq")) == 1)
        #expect(try reader.count() == 1)
    }

    @Test("Concurrent deliveries of one id end as one row and exactly one accepted")
    func concurrentDuplicates() async throws {
        defer { directory.remove() }
        let event = try signer.verifiedEvent(id: "evt_race")
        let results = try await withStore { (store: SQLiteStore) async throws in
            try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<64 { group.addTask { try await store.append(event) } }
                return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
            }
        }
        #expect(results.filter { $0 == .accepted }.count == 1)
        #expect(results.filter { $0 == .duplicate }.count == 63)
        #expect(try EventLogReader(path: path).count() == 1)
    }

    @Test("Many concurrent distinct events are all stored (group commit)")
    func concurrentDistinct() async throws {
        defer { directory.remove() }
        let events = try (0..<500).map { try signer.verifiedEvent(id: "evt_\($0)") }
        let results = try await withStore { (store: SQLiteStore) async throws in
            try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for event in events { group.addTask { try await store.append(event) } }
                return try await group.reduce(into: [AppendResult]()) { $0.append($1) }
            }
        }
        #expect(results.allSatisfy { $0 == .accepted })
        #expect(try EventLogReader(path: path).count() == 500)
    }

    @Test("Raw bytes, delivery headers and envelope fields are stored exactly")
    func storesExactly() async throws {
        defer { directory.remove() }
        let event = try signer.verifiedEvent(id: "evt_exact", type: "com.gigs.subscriptionGroup.created")
        try await withStore { store in _ = try await store.append(event) }
        let stored = try #require(try EventLogReader(path: path).event(id: EventID("evt_exact")))
        #expect(stored.body == event.body)
        #expect(stored.type == "com.gigs.subscriptionGroup.created")
        #expect(stored.project == "dev-project")
        #expect(stored.time == "2026-11-23T10:00:00Z")
        #expect(stored.messageID == event.headers.id)
        #expect(stored.webhookTimestamp == event.timestamp)
        #expect(Int64((stored.receivedAt.timeIntervalSince1970 * 1000).rounded()) == event.receivedAt)
    }

    @Test("Closing and reopening keeps every event, and duplicates stay duplicates")
    func restartKeepsEverything() async throws {
        defer { directory.remove() }
        let events = try (0..<20).map { try signer.verifiedEvent(id: "evt_r\($0)") }
        try await withStore { (store: SQLiteStore) async throws in
            for event in events { #expect(try await store.append(event) == .accepted) }
        }
        try await withStore { (store: SQLiteStore) async throws in
            for event in events { #expect(try await store.append(event) == .duplicate) }
            #expect(try await store.append(try signer.verifiedEvent(id: "evt_new")) == .accepted)
        }
        let reader = try EventLogReader(path: path)
        #expect(try reader.count() == 21)
        #expect(
            try reader.appliedMigrations() == [
                "0001_create_events", "0002_create_deliveries", "0003_index_events_by_received_at",
                "0004_create_store_probe", "0005_lease_expirations_and_due_by_action", "0006_create_action_state",
                "0007_ordered_deliveries", "0008_event_subjects", "0009_event_id_prefix",
            ])
        #expect(try reader.list(limit: 1).first?.id == EventID("evt_new"))
    }

    @Test("The database file is private (0600) in a private folder (0700)")
    func permissions() async throws {
        defer { directory.remove() }
        try await withStore { store in _ = try await store.append(try signer.verifiedEvent(id: "evt_perm")) }
        let file = try FileManager.default.attributesOfItem(atPath: path)
        #expect((file[.posixPermissions] as? Int) == 0o600)
        let folder = try FileManager.default.attributesOfItem(atPath: directory.file("var"))
        #expect((folder[.posixPermissions] as? Int) == 0o700)
    }

    @Test("Listing filters by type, newest first, while the writer is open")
    func listing() async throws {
        defer { directory.remove() }
        try await withStore { (store: SQLiteStore) async throws in
            _ = try await store.append(try signer.verifiedEvent(id: "evt_a", type: "com.gigs.subscription.activated"))
            _ = try await store.append(try signer.verifiedEvent(id: "evt_b", type: "com.gigs.sim.created"))
            _ = try await store.append(try signer.verifiedEvent(id: "evt_c", type: "com.gigs.subscription.activated"))
            let reader = try EventLogReader(path: path)
            #expect(try reader.list(limit: 10).map(\.id.rawValue) == ["evt_c", "evt_b", "evt_a"])
            #expect(
                try reader.list(type: "com.gigs.subscription.activated", limit: 10).map(\.id.rawValue)
                    == ["evt_c", "evt_a"]
            )
            #expect(try reader.list(limit: 2).count == 2)
            #expect(try reader.event(id: EventID("evt_missing")) == nil)
        }
    }

    @Test("A closed store refuses appends instead of acknowledging them")
    func closedStore() async throws {
        defer { directory.remove() }
        let store = try SQLiteStore(path: path, logger: Logger(label: "test"))
        await store.close()
        await #expect(throws: StoreError.self) { try await store.append(try signer.verifiedEvent(id: "evt_late")) }
    }

    @Test("A read-only reader refuses a missing store")
    func missingStore() throws {
        defer { directory.remove() }
        #expect(throws: StoreError.self) { try EventLogReader(path: directory.file("absent.sqlite3")) }
    }
}
