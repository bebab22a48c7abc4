import Foundation
import Logging

/// The append-only, idempotent SQLite event log, written by one dedicated thread with group commit.
///
/// Request tasks call ``append(_:)`` and suspend. The writer thread takes everything queued, inserts it
/// in one transaction and commits with `synchronous=FULL` (the WAL is fsynced), and only then resumes
/// the requests, so an event is durable before any 2xx is sent. Many concurrent requests share one
/// commit and one fsync. Blocking SQLite calls never run on Swift concurrency's cooperative threads.
public final class SQLiteStore: EventLog {
    /// Largest number of events committed in one transaction.
    static let maxBatch = 512

    /// The SQLite file.
    public let path: String
    /// Whether writes are reaching the disk.
    public let health = StoreHealth()
    /// The writer's commits by durability (`EventWriter.durability(storingData:)`).
    package let commits: CommitCounts
    private let queue = WriteQueue()
    /// Seals the bodies it appends.
    private let sealer: PayloadSealer

    /// Opens (creating when missing) and migrates the store, then starts its writer thread.
    ///
    /// - Parameters:
    ///   - clock: the time finishes and releases are stamped with (claims bring their own `now`).
    ///   - handOff: this instance's dispatcher: new deliveries it offers room for are leased to it in the
    ///     append's transaction, and it is woken after a commit that created deliveries.
    public init(
        path: String,
        clock: any RelayClock = SystemClock(),
        logger: Logger,
        handOff: DeliveryHandOff = DeliveryHandOff(),
        sealer: PayloadSealer = .plaintext
    ) throws(StoreError) {
        self.path = path
        self.sealer = sealer
        let writer: EventWriter
        let lock: StoreLock
        let connection: SQLiteConnection
        do throws(SQLiteError) {
            connection = try SQLiteConnection(path: path, mode: .create)
            lock = try StoreLock(storePath: path)
        } catch {
            throw StoreError.openFailed(path: path, error)
        }
        do throws(StoreError) {
            do throws(SQLiteError) {
                try Self.configure(connection)
                try Self.checkIntegrity(connection)
                try StoreSchema.migrate(connection, logger: logger)
            } catch {
                throw StoreError.openFailed(path: path, error)
            }
            try connection.checkKeys(sealer, listing: true)
            do throws(SQLiteError) {
                writer = try EventWriter(
                    connection: connection, logger: logger, health: health, clock: clock, handOff: handOff)
                try connection.syncDirectory()
            } catch {
                throw StoreError.openFailed(path: path, error)
            }
        } catch {
            lock.release()
            throw error
        }
        commits = writer.commits
        let queue = self.queue
        let thread = Thread {
            // After a commit that did not wait for the disk, an idle writer flushes within a moment.
            while let batch = queue.nextBatch(
                limit: Self.maxBatch, idle: writer.unflushed ? .milliseconds(CommitDurability.flushEvery) : nil)
            {
                if batch.isEmpty { writer.flush() } else { writer.write(batch) }
            }
            writer.close()
            lock.release()
            queue.markFinished()
        }
        thread.name = "gigs-relay-store-writer"
        thread.start()
    }

    deinit {
        queue.requestClose()
    }

    /// Sets WAL mode and full durability, checking SQLite agreed.
    private static func configure(_ connection: SQLiteConnection) throws(SQLiteError) {
        let mode = try connection.scalarText("PRAGMA journal_mode = WAL")
        guard mode == "wal" else {
            throw SQLiteError(
                code: 1, message: "the store must use WAL journaling; SQLite answered \(mode ?? "nothing")")
        }
        try connection.execute("PRAGMA synchronous = FULL")
        guard try connection.scalarText("PRAGMA synchronous") == "2" else {
            throw SQLiteError(code: 1, message: "SQLite refused synchronous = FULL")
        }
    }

    /// `PRAGMA quick_check`: a damaged file is refused at start, naming SQLite's first finding, rather than
    /// failing writes later. docs/runbooks.md "A corrupt store" says what to do.
    private static func checkIntegrity(_ connection: SQLiteConnection) throws(SQLiteError) {
        let result = try connection.scalarText("PRAGMA quick_check") ?? "no answer"
        guard result == "ok" else {
            let finding = result.split(whereSeparator: \.isNewline).joined(separator: "; ").prefix(200)
            throw SQLiteError(
                code: 11,
                message: "the store failed PRAGMA quick_check (\(finding)); see docs/runbooks.md \"A corrupt store\""
            )
        }
    }

    /// Durably stores the event unless its id is already stored; a new event also gets one pending
    /// delivery per action, in the same transaction.
    ///
    /// Returns after the commit that holds it (or that found it a duplicate) has reached the disk.
    public func append(_ event: VerifiedEvent, deliveries: [NewDelivery]) async throws(StoreError) -> AppendResult {
        // Sealed on the caller's task, so the one writer thread spends nothing on it.
        let event = event.sealed(by: sealer)
        return try await perform { .append(event, deliveries: deliveries, reply: $0) }
    }

    /// Claims due deliveries for the dispatcher, marking them running under a lease.
    public func claim(_ request: ClaimRequest) async throws(StoreError) -> Claim {
        try await perform { .claim(request, reply: $0) }
    }

    /// Records a finished attempt and moves its delivery on; false when it had lost its lease.
    @discardableResult
    public func finish(_ record: AttemptRecord) async throws(StoreError) -> Bool {
        let record = record.sealed(by: sealer)
        return try await perform { .finish(record, reply: $0) }
    }

    /// Reads the monitor's counts; with `probeBytes`, also proves the disk takes a write that large.
    public func stats(probeBytes: Int? = nil) async throws(StoreError) -> StoreStats {
        try await perform { .stats(probeBytes: probeBytes, reply: $0) }
    }

    /// Removes up to `limit` events received before `cutoff` (Unix ms) whose deliveries all succeeded or
    /// were skipped, with their deliveries and attempts; returns how many.
    public func prune(before cutoff: Int64, limit: Int) async throws(StoreError) -> Int {
        try await perform { .prune(before: cutoff, limit: limit, reply: $0) }
    }

    /// Records an action's circuit breaker change, for `gigs-relay actions`.
    public func recordCircuit(_ change: CircuitChange) async throws(StoreError) {
        try await perform { .recordCircuit(change, reply: $0) }
    }

    /// Subjects of the given actions held by a dead delivery with others waiting behind it.
    public func blockedSubjects(actions: [String]) async throws(StoreError) -> BlockedSubjects {
        try await perform { .blockedSubjects(actions: actions, reply: $0) }
    }

    /// Queues an operation for the writer thread and waits for the commit that holds it.
    private func perform<Value: Sendable>(
        _ operation: (WriteQueue.Reply<Value>) -> WriteQueue.Operation
    ) async throws(StoreError) -> Value {
        let result = await withCheckedContinuation { continuation in
            let queued = operation(continuation)
            if !queue.enqueue(queued) {
                queued.fail(.closed)
            }
        }
        return try result.get()
    }

    /// Refuses new appends, commits what is queued, closes the database and waits for all of it.
    public func close() async {
        queue.requestClose()
        await queue.waitUntilFinished()
    }
}
