import Foundation

/// Erasure of a Gigs user's personal data (`gigs-relay erase --user`, `[privacy] erase_on_user_deleted`):
/// each chosen event's payload is replaced by a tombstone (its id, type, subject, time and `erased` with
/// when and why), the errors and outputs of its attempts are cleared, and its pending and failed
/// deliveries are skipped with the reason. Ids, statuses, times and attempt counts stay, so the history
/// of what was delivered when stays too. Written once for both backends; each backend runs it in
/// batches of ``batchSize`` events per transaction.
public enum Erasure {
    /// The event Gigs sends when it deletes a user.
    public static let userDeletedType = "com.gigs.user.deleted"
    /// Events erased per transaction.
    static let batchSize = 500
    /// What an erased error or output reads.
    static let erasedText = "(erased)"

    /// Which events an erasure takes.
    public enum Selection: Sendable, Equatable {
        /// Every event about `user` (not erased yet), of those stored before sequence `before` when given.
        case user(String, before: Int64? = nil)
        /// One event, by sequence number.
        case event(Int64)
    }

    /// What an erasure changed (or, for a dry run, would change).
    public struct Result: Sendable, Equatable, Codable {
        public var events = 0
        /// Attempts whose error or output was cleared.
        public var attempts = 0
        /// Pending and failed deliveries skipped.
        public var skippedDeliveries = 0

        public init(events: Int = 0, attempts: Int = 0, skippedDeliveries: Int = 0) {
            self.events = events
            self.attempts = attempts
            self.skippedDeliveries = skippedDeliveries
        }

        static func + (lhs: Result, rhs: Result) -> Result {
            Result(
                events: lhs.events + rhs.events, attempts: lhs.attempts + rhs.attempts,
                skippedDeliveries: lhs.skippedDeliveries + rhs.skippedDeliveries)
        }
    }

    /// A stored `com.gigs.user.deleted` event not erased yet, for ``ErasureService``.
    public struct Deletion: Sendable, Equatable {
        public var sequence: Int64
        public var id: EventID
        public var user: String
        /// Whether every delivery of it has finished (then it is erased too).
        public var isDelivered: Bool
    }

    /// An event an erasure takes: what its tombstone keeps.
    struct Candidate: Sendable {
        var sequence: Int64
        var id: String
        var type: String
        var subject: String?
        var time: String?
    }

    /// The tombstone that replaces a payload; its keys sorted, so `erased` comes first and the dispatcher
    /// knows a tombstone by its start.
    static func tombstone(_ event: Candidate, at: Int64, reason: String) -> [UInt8] {
        let document = JSONValue.object([
            "erased": .object(["at": .string(Timestamp.iso8601(milliseconds: at)), "reason": .string(reason)]),
            "object": .string("event"), "id": .string(event.id), "type": .string(event.type),
            "subject": event.subject.map(JSONValue.string) ?? .null, "time": event.time.map(JSONValue.string) ?? .null,
        ])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a JSONValue of strings cannot fail.
        return (try? encoder.encode(document)).map { [UInt8]($0) } ?? []
    }

    /// Whether a body is a tombstone.
    static func isTombstone(_ body: [UInt8]) -> Bool {
        body.starts(with: tombstonePrefix)
    }

    private static let tombstonePrefix = Array(#"{"erased":"#.utf8)

    /// The reason an erasure of a deleted user gives.
    static func userDeletedReason(_ event: EventID) -> String { "the user was deleted (\(event))" }
}

/// The statements of ``Erasure``, written once for both backends.
enum ErasureSQL {
    /// Up to $4 events of user $1 after seq $2 and before seq $3, not erased, oldest first.
    static let userEvents = """
        SELECT seq, id, type, subject, event_time FROM events
        WHERE user_id = $1 AND seq > $2 AND seq < $3 AND erased_at IS NULL ORDER BY seq LIMIT $4
        """
    /// Event $1 unless it is erased (or $2, the cursor, is past it).
    static let event = """
        SELECT seq, id, type, subject, event_time FROM events WHERE seq = $1 AND seq > $2 AND erased_at IS NULL
        """

    /// The page of candidates after `cursor` (a seq) that `selection` takes.
    static func candidates(_ selection: Erasure.Selection, after cursor: Int64) -> (
        sql: String, texts: [String], numbers: [Int64]
    ) {
        switch selection {
        case .user(let user, let before):
            (userEvents, [user], [cursor, before ?? .max, Int64(Erasure.batchSize)])
        case .event(let sequence):
            (event, [], [sequence, cursor])
        }
    }

    /// Replaces event $3's body with tombstone $1, erased at $2.
    static let tombstone = "UPDATE events SET body = $1, erased_at = $2 WHERE seq = $3 AND erased_at IS NULL"

    /// Whether any event of user $1 is erased (reconciliation never recreates such a user's events).
    static let userErased = "SELECT 1 FROM events WHERE user_id = $1 AND erased_at IS NOT NULL LIMIT 1"

    /// Stored `com.gigs.user.deleted` events not erased, oldest first, up to $1; the last column is 1 when
    /// every delivery of it has finished.
    static let deletions = """
        SELECT e.seq, e.id, e.user_id, CASE WHEN EXISTS (
            SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status IN (\(DeliveryStatus.unfinished.sql))
        ) THEN 0 ELSE 1 END
        FROM events e
        WHERE e.type = '\(Erasure.userDeletedType)' AND e.erased_at IS NULL AND e.user_id IS NOT NULL
        ORDER BY e.seq LIMIT $1
        """

    /// The three changes to the deliveries and attempts of events `sequences` at `now`, each returning
    /// one row per row changed: attempts' texts cleared; deliveries' errors cleared; pending and failed
    /// deliveries skipped with `reason`.
    static func changes(_ sequences: [Int64], now: Int64, reason: String, _ dialect: SQLDialect) -> [SQLStatement] {
        var attempts = SQLStatement(dialect)
        let erased = attempts.bind(Erasure.erasedText)
        attempts.append(
            """
            UPDATE attempts SET error = CASE WHEN error IS NULL THEN NULL ELSE \(erased) END, output = NULL
            WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_seq IN (\(attempts.bindList(sequences))))
                AND (error IS NOT NULL OR output IS NOT NULL)
            RETURNING id
            """)
        var errors = SQLStatement(dialect)
        let erasedError = errors.bind(Erasure.erasedText)
        errors.append(
            """
            UPDATE deliveries SET last_error = \(erasedError)
            WHERE event_seq IN (\(errors.bindList(sequences))) AND last_error IS NOT NULL RETURNING id
            """)
        var skips = SQLStatement(dialect)
        let why = skips.bind(reason)
        let at = skips.bind(now)
        skips.append(
            """
            UPDATE deliveries SET status = \(DeliveryStatus.skipped.sql), last_error = \(why), next_attempt_at = 0,
                updated_at = \(at)
            WHERE event_seq IN (\(skips.bindList(sequences)))
                AND status IN (\([DeliveryStatus.pending, .failed].sql))
            RETURNING id
            """)
        return [attempts, errors, skips]
    }

    /// The dry run's counts of events `sequences`: attempts with texts, and pending or failed deliveries.
    static func counts(_ sequences: [Int64], _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        let first = statement.bindList(sequences)
        let second = statement.bindList(sequences)
        statement.append(
            """
            SELECT (SELECT count(*) FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_seq IN (\(first)))
                    AND (error IS NOT NULL OR output IS NOT NULL)),
                (SELECT count(*) FROM deliveries WHERE event_seq IN (\(second))
                    AND status IN (\([DeliveryStatus.pending, .failed].sql)))
            """)
        return statement
    }
}
