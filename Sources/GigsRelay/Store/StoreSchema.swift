import Foundation
import Logging

/// The event store's schema as named, forward-only migrations, each recorded in `schema_migrations`.
///
/// A migration is never edited once released: changes are new migrations appended to ``migrations``.
enum StoreSchema {
    struct Migration {
        let name: String
        let sql: String
    }

    static let migrations: [Migration] = [
        Migration(
            name: "0001_create_events",
            sql: """
                CREATE TABLE events (
                    seq               INTEGER PRIMARY KEY,
                    id                TEXT    NOT NULL UNIQUE,
                    type              TEXT    NOT NULL,
                    project           TEXT,
                    event_time        TEXT,
                    received_at       INTEGER NOT NULL,
                    message_id        TEXT    NOT NULL,
                    webhook_timestamp INTEGER NOT NULL,
                    signature         TEXT    NOT NULL,
                    body              BLOB    NOT NULL
                );
                CREATE INDEX events_by_type ON events (type, seq);
                CREATE TRIGGER events_are_append_only BEFORE UPDATE ON events
                BEGIN
                    SELECT RAISE(ABORT, 'events are append-only');
                END;
                """
        )
    ]

    /// Applies every migration the database lacks, each in its own transaction, and refuses a database
    /// migrated by a newer gigs-relay.
    static func migrate(_ connection: SQLiteConnection, logger: Logger) throws(SQLiteError) {
        try connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)"
        )
        var applied: Set<String> = []
        let select = try connection.prepare("SELECT name FROM schema_migrations")
        while try select.step() {
            if let name = select.text(at: 0) { applied.insert(name) }
        }
        let known = Set(migrations.map(\.name))
        if let unknown = applied.subtracting(known).sorted().first {
            throw SQLiteError(
                code: 1,
                message:
                    "the store has migration \(unknown), unknown to this gigs-relay: it was written by a newer version"
            )
        }
        for migration in migrations where !applied.contains(migration.name) {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try connection.execute(migration.sql)
                let record = try connection.prepare("INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)")
                try record.bind(migration.name, at: 1)
                try record.bind(Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)), at: 2)
                try record.step()
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
            logger.info("Applied store migration", metadata: [LogKey.migration: "\(migration.name)"])
        }
    }
}
