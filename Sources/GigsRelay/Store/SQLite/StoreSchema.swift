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
        ),
        Migration(
            name: "0002_create_deliveries",
            sql: """
                CREATE TABLE deliveries (
                    id              INTEGER PRIMARY KEY,
                    event_seq       INTEGER NOT NULL REFERENCES events (seq),
                    action          TEXT    NOT NULL,
                    status          TEXT    NOT NULL
                        CHECK (status IN ('pending', 'running', 'succeeded', 'failed', 'dead', 'skipped')),
                    attempts        INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at INTEGER NOT NULL,
                    last_error      TEXT,
                    replay          INTEGER NOT NULL DEFAULT 0,
                    created_at      INTEGER NOT NULL,
                    updated_at      INTEGER NOT NULL
                );
                CREATE INDEX deliveries_by_event ON deliveries (event_seq);
                CREATE INDEX deliveries_by_status ON deliveries (status, id);
                CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
                    WHERE status IN ('pending', 'failed', 'running');
                CREATE TABLE attempts (
                    id          INTEGER PRIMARY KEY,
                    delivery_id INTEGER NOT NULL REFERENCES deliveries (id),
                    number      INTEGER NOT NULL,
                    started_at  INTEGER NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    outcome     TEXT    NOT NULL,
                    error       TEXT,
                    output      TEXT
                );
                CREATE INDEX attempts_by_delivery ON attempts (delivery_id, number);
                """
        ),
        Migration(
            name: "0003_index_events_by_received_at",
            sql: """
                CREATE INDEX events_by_received_at ON events (received_at);
                """
        ),
        Migration(
            name: "0004_create_store_probe",
            sql: """
                CREATE TABLE store_probe (id INTEGER PRIMARY KEY, filler BLOB NOT NULL);
                """
        ),
        Migration(
            name: "0005_lease_expirations_and_due_by_action",
            sql: """
                ALTER TABLE deliveries ADD COLUMN lease_expirations INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX deliveries_due_by_action ON deliveries (action, next_attempt_at)
                    WHERE status IN ('pending', 'failed', 'running');
                """
        ),
        Migration(
            name: "0006_create_action_state",
            sql: """
                CREATE TABLE action_state (
                    action        TEXT    PRIMARY KEY,
                    paused_at     INTEGER,
                    circuit       TEXT    NOT NULL DEFAULT 'closed'
                                  CHECK (circuit IN ('closed', 'open', 'half-open')),
                    circuit_since INTEGER,
                    circuit_error TEXT
                ) WITHOUT ROWID;
                """
        ),
        Migration(
            name: "0007_ordered_deliveries",
            sql: """
                ALTER TABLE deliveries ADD COLUMN subject TEXT;
                ALTER TABLE deliveries ADD COLUMN order_at INTEGER NOT NULL DEFAULT 0;
                ALTER TABLE deliveries ADD COLUMN out_of_order INTEGER NOT NULL DEFAULT 0;
                CREATE INDEX deliveries_by_subject ON deliveries (action, subject, order_at, event_seq)
                    WHERE subject IS NOT NULL;
                """
        ),
        Migration(
            name: "0008_event_subjects",
            sql: """
                ALTER TABLE events ADD COLUMN subject TEXT;
                CREATE INDEX events_by_subject ON events (subject, seq) WHERE subject IS NOT NULL;
                """
        ),
        Migration(
            name: "0009_event_id_prefix",
            // PostgreSQL's index for id-prefix searches; SQLite's unique index on id compares bytes already.
            sql: "SELECT 1"
        ),
        Migration(
            name: "0010_drop_deliveries_due",
            // Claims read deliveries_due_by_action; the count of unfinished deliveries reads
            // deliveries_by_status. One index fewer to change on every status change.
            sql: "DROP INDEX IF EXISTS deliveries_due"
        ),
        Migration(
            name: "0011_create_reconcile_runs",
            sql: """
                CREATE TABLE reconcile_runs (
                    id            INTEGER PRIMARY KEY,
                    trigger       TEXT    NOT NULL CHECK (trigger IN ('schedule', 'command')),
                    instance      TEXT    NOT NULL,
                    started_at    INTEGER NOT NULL,
                    finished_at   INTEGER,
                    missing_count INTEGER NOT NULL DEFAULT 0,
                    result        TEXT
                );
                CREATE INDEX reconcile_runs_by_trigger ON reconcile_runs (trigger, id);
                """
        ),
        Migration(
            name: "0012_event_users_and_erasure",
            sql: """
                ALTER TABLE events ADD COLUMN user_id TEXT;
                ALTER TABLE events ADD COLUMN erased_at INTEGER;
                CREATE INDEX events_by_user ON events (user_id, seq) WHERE user_id IS NOT NULL;
                """
        ),
        Migration(
            name: "0013_sealed_payloads",
            // The keys rows may be sealed with; and a body may now be changed in place (sealed, or moved to
            // another key), nothing else of an event.
            sql: """
                CREATE TABLE store_keys (
                    key_id   TEXT    PRIMARY KEY,
                    added_at INTEGER NOT NULL
                );
                DROP TRIGGER events_are_append_only;
                CREATE TRIGGER events_are_append_only
                BEFORE UPDATE OF seq, id, type, project, event_time, received_at, message_id, webhook_timestamp,
                    signature, subject, user_id ON events
                BEGIN
                    SELECT RAISE(ABORT, 'events are append-only: only a body is sealed in place');
                END;
                """
        ),
        Migration(
            name: "0014_event_trace_context",
            // The W3C trace context of the event's ingest span, which its attempts continue.
            sql: """
                ALTER TABLE events ADD COLUMN trace_context TEXT;
                DROP TRIGGER events_are_append_only;
                CREATE TRIGGER events_are_append_only
                BEFORE UPDATE OF seq, id, type, project, event_time, received_at, message_id, webhook_timestamp,
                    signature, subject, user_id, trace_context ON events
                BEGIN
                    SELECT RAISE(ABORT, 'events are append-only: only a body is sealed in place');
                END;
                """
        ),
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
                try record.bind(unixMilliseconds(), at: 2)
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
