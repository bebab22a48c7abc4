import Foundation
import GigsRelay
import GigsRelayTesting
import Logging
import Testing

/// What only the SQLite store promises, beside the contract both backends keep (`StoreConformanceTests`):
/// its file's permissions, its wake-up hint, reopening a file, and a reader on a missing file.
@Suite("SQLite store specifics")
struct SQLiteStoreTests {
    let directory = TemporaryDirectory()
    let signer = TestSigner()
    var path: String { directory.file("var/events.sqlite3") }

    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    func withStore<T>(_ body: (SQLiteStore) async throws -> T) async throws -> T {
        let store = try SQLiteStore(path: path, logger: Self.logger)
        do {
            let result = try await body(store)
            await store.close()
            return result
        } catch {
            await store.close()
            throw error
        }
    }

    @Test("Only a commit that creates deliveries wakes the dispatcher")
    func wakeups() async throws {
        defer { directory.remove() }
        let handOff = DeliveryHandOff()
        let store = try SQLiteStore(path: path, logger: Self.logger, handOff: handOff)
        let event = try signer.verifiedEvent(id: "evt_outbox")
        #expect(try await store.append(event, actions: ["a", "b"]) == .accepted)
        #expect(await handOff.wakeup.wait(timeout: .zero) == .claim)
        #expect(try await store.append(event, actions: ["a", "b"]) == .duplicate)
        _ = try await store.append(try signer.verifiedEvent(id: "evt_unrouted"), actions: [])
        #expect(await handOff.wakeup.wait(timeout: .milliseconds(50)) == nil)
        await store.close()
    }

    /// The writer's commits so far, by durability.
    func commits(_ store: SQLiteStore) -> String {
        "\(store.commits.full) full, \(store.commits.normal) normal"
    }

    @Test(
        "Appends wait for the disk; claims and results between them only for the operating system, flushed within 200 ms"
    )
    func commitDurability() async throws {
        defer { directory.remove() }
        let clock = ManualClock()
        let store = try SQLiteStore(path: path, clock: clock, logger: Self.logger)
        #expect(try await store.append(try signer.verifiedEvent(id: "evt_durable"), actions: ["a"]) == .accepted)
        #expect(commits(store) == "1 full, 0 normal")
        let request = ClaimRequest(
            limit: 10, actions: ["a": .init(room: 10, maxAttempts: 3)], now: clock.now + 60_000,
            leaseMilliseconds: 30_000)
        let job = try #require(try await store.claim(request).jobs.first)
        #expect(
            try await store.finish(
                AttemptRecord(
                    delivery: job.id, attempt: job.attempt, startedAt: clock.now, durationMilliseconds: 1,
                    outcome: .succeeded)))
        #expect(commits(store) == "1 full, 2 normal", "a claim and a result after a flush: no wait")
        // Nothing else comes: the idle writer flushes them to the disk within a moment.
        for _ in 0..<100 where store.commits.unflushed { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!store.commits.unflushed)
        #expect(store.commits.flushes >= 1)
        let flushes = store.commits.flushes
        #expect(try await store.claim(request).jobs.isEmpty)
        #expect(commits(store) == "1 full, 3 normal")
        try await Task.sleep(for: .milliseconds(500))
        #expect(store.commits.flushes == flushes, "a claim that changed nothing leaves nothing to flush")
        clock.advance(by: .milliseconds(200))
        _ = try await store.claim(request)
        #expect(commits(store) == "2 full, 3 normal", "200 ms after the last flush: flushed again")
        _ = try await store.stats(probeBytes: 1024)
        #expect(commits(store) == "3 full, 3 normal", "the disk probe waits for the disk")
        #expect(try await store.append(try signer.verifiedEvent(id: "evt_durable_2"), actions: []) == .accepted)
        #expect(commits(store) == "4 full, 3 normal")
        await store.close()
        // What the NORMAL commits wrote is in the file after reopening.
        try await withStore { (store: SQLiteStore) async throws in
            #expect(try await store.claim(request).jobs.isEmpty, "the delivery stays succeeded")
        }
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
        #expect(try reader.rowCount(id: EventID("evt_r0")) == 1)
        #expect(try reader.list(limit: 1).first?.id == EventID("evt_new"))
    }

    @Test(
        "A connection opened beside the running writer (the console's) keeps the writer's locks: another process closing the store leaves the WAL, and every commit after it is seen"
    )
    func secondConnectionKeepsTheWriterLocks() async throws {
        defer { directory.remove() }
        let opened = try await StoreLocation.sqlite(path: path).open(
            environment: [:], clock: SystemClock(), logger: Self.logger, handOff: DeliveryHandOff())
        #expect(try await opened.log.append(try signer.verifiedEvent(id: "evt_before")) == .accepted)
        // The daemon's console opens its read-write connection on first use (the overview's summaries).
        _ = try await opened.console.actionSummaries()
        // Another process (a CLI command) opens the store and closes it. Had this process lost its locks
        // on the file (a close(2) of any descriptor of it drops every POSIX lock the process holds),
        // that close would take the store for unused, checkpoint it and delete the WAL the writer
        // still appends to: later commits would reach no other process, and no restart.
        let script = """
            import sqlite3, sys
            connection = sqlite3.connect(sys.argv[1])
            print(connection.execute("SELECT count(*) FROM events").fetchone()[0])
            connection.close()
            """
        let first = try runTool(["python3", "-c", script, path])
        #expect(first.status == 0 && first.output.hasPrefix("1"), "\(first.output)")
        #expect(FileManager.default.fileExists(atPath: path + "-wal"), "the writer's WAL is still there")
        #expect(try await opened.log.append(try signer.verifiedEvent(id: "evt_after")) == .accepted)
        let second = try runTool(["python3", "-c", script, path])
        #expect(second.output.hasPrefix("2"), "the commit after the other process's close is seen: \(second.output)")
        await opened.close()
        let reader = try EventLogReader(path: path)
        #expect(try reader.count() == 2)
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

    @Test("A read-only reader refuses a missing store")
    func missingStore() throws {
        defer { directory.remove() }
        #expect(throws: StoreError.self) { try EventLogReader(path: directory.file("absent.sqlite3")) }
    }
}
