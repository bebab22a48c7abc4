import Foundation
import Logging

/// The append-only, idempotent SQLite event log, written by one dedicated thread with group commit.
///
/// Request tasks call ``append(_:)`` and suspend. The writer thread takes everything queued, inserts it
/// in one transaction and commits with `synchronous=FULL` (the WAL is fsynced), and only then resumes
/// the requests, so an event is durable before any 2xx is sent. Many concurrent requests share one
/// commit and one fsync. Blocking SQLite calls never run on Swift concurrency's cooperative threads.
public final class EventStore: Sendable {
    /// Largest number of events committed in one transaction.
    static let maxBatch = 512

    /// The SQLite file.
    public let path: String
    private let queue = WriteQueue()

    /// Opens (creating when missing) and migrates the store, then starts its writer thread.
    public init(path: String, logger: Logger) throws(StoreError) {
        self.path = path
        let writer: EventWriter
        do {
            let connection = try SQLiteConnection(path: path, mode: .create)
            try Self.configure(connection)
            try StoreSchema.migrate(connection, logger: logger)
            writer = try EventWriter(connection: connection, logger: logger)
            try connection.syncDirectory()
        } catch {
            throw StoreError.openFailed(path: path, error)
        }
        let queue = self.queue
        let thread = Thread {
            while let batch = queue.nextBatch(limit: Self.maxBatch) {
                let results = writer.write(batch.map(\.event))
                for (pending, result) in zip(batch, results) {
                    pending.continuation.resume(returning: result)
                }
            }
            writer.close()
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

    /// Durably stores the event unless its id is already stored.
    ///
    /// Returns after the commit that holds it (or that found it a duplicate) has reached the disk.
    public func append(_ event: VerifiedEvent) async throws(StoreError) -> AppendResult {
        let result = await withCheckedContinuation { continuation in
            if !queue.enqueue(WriteQueue.Pending(event: event, continuation: continuation)) {
                continuation.resume(returning: .failure(StoreError.closed))
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

/// The writer thread's connection and prepared statements.
final class EventWriter: @unchecked Sendable {
    // Safe because after `init` only the store's writer thread uses it.

    /// The open connection and its statements; nil once closed.
    private struct Open {
        let connection: SQLiteConnection
        let begin: SQLiteStatement
        let commit: SQLiteStatement
        let insert: SQLiteStatement
    }

    private var open: Open?
    private let logger: Logger

    init(connection: SQLiteConnection, logger: Logger) throws(SQLiteError) {
        self.logger = logger
        self.open = Open(
            connection: connection,
            begin: try connection.prepare("BEGIN IMMEDIATE"),
            commit: try connection.prepare("COMMIT"),
            insert: try connection.prepare(
                """
                INSERT INTO events (id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING
                """
            )
        )
    }

    /// Inserts the batch in one transaction; every event gets the batch's fate when the commit fails.
    func write(_ events: [VerifiedEvent]) -> [Result<AppendResult, StoreError>] {
        guard let open else { return events.map { _ in .failure(.closed) } }
        do {
            try Self.run(open.begin)
            var results: [Result<AppendResult, StoreError>] = []
            results.reserveCapacity(events.count)
            for event in events {
                results.append(.success(try Self.insert(event, using: open)))
            }
            try Self.run(open.commit)
            logger.trace("Committed batch", metadata: [LogKey.storeBatch: "\(events.count)"])
            return results
        } catch {
            if !open.connection.isAutocommit { try? open.connection.execute("ROLLBACK") }
            logger.error(
                "Event store write failed",
                metadata: [LogKey.error: "\(error)", LogKey.storeBatch: "\(events.count)"]
            )
            return events.map { _ in .failure(.unavailable(error)) }
        }
    }

    private static func insert(_ event: VerifiedEvent, using open: Open) throws(SQLiteError) -> AppendResult {
        let insert = open.insert
        defer { insert.reset() }
        try insert.bind(event.id.rawValue, at: 1)
        try insert.bind(event.type, at: 2)
        try insert.bind(event.project, at: 3)
        try insert.bind(event.time, at: 4)
        try insert.bind(event.receivedAt, at: 5)
        try insert.bind(event.headers.id, at: 6)
        try insert.bind(event.timestamp, at: 7)
        try insert.bind(event.headers.signature, at: 8)
        try insert.bind(bytes: event.body, at: 9)
        try insert.step()
        return open.connection.changes == 1 ? .accepted : .duplicate
    }

    private static func run(_ statement: SQLiteStatement) throws(SQLiteError) {
        defer { statement.reset() }
        try statement.step()
    }

    /// Finalizes the statements and closes the connection (SQLite checkpoints the WAL on the last close).
    func close() {
        open = nil
    }
}
