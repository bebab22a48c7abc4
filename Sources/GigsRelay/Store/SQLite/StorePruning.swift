/// Removes old events whose deliveries have all finished, with their deliveries and attempts, in
/// batches. Shared by the daemon's retention task (on the writer thread) and `gigs-relay prune`.
///
/// An event with a delivery that is `pending`, `running` or `failed` is never removed; one with a
/// `dead` delivery only when the caller says so (the CLI's `--include-dead`), never by retention.
enum StorePruning {
    /// Deletes up to `limit` events received before `cutoff` (Unix ms), oldest first, inside the caller's
    /// transaction; returns how many.
    static func pruneBatch(
        _ connection: SQLiteConnection,
        before cutoff: Int64,
        includeDead: Bool,
        limit: Int
    ) throws(SQLiteError) -> Int {
        let sequences = try connection.rows(
            "SELECT e.seq " + candidates(includeDead: includeDead) + " ORDER BY e.received_at LIMIT ?",
            [.integer(cutoff), .integer(Int64(limit))]
        ) { $0.int64(at: 0) }
        guard !sequences.isEmpty else { return 0 }
        let deletes = [
            "DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_seq = ?)",
            "DELETE FROM deliveries WHERE event_seq = ?",
            "DELETE FROM events WHERE seq = ?",
        ]
        for sql in deletes {
            let delete = try connection.prepare(sql)
            for sequence in sequences {
                defer { delete.reset() }
                try delete.bind(sequence, at: 1)
                try delete.step()
            }
        }
        return sequences.count
    }

    /// How many events ``pruneBatch(_:before:includeDead:limit:)`` would remove in all: a read, which
    /// takes no write lock, so a dry run never holds up the daemon's writer.
    static func count(_ connection: SQLiteConnection, before cutoff: Int64, includeDead: Bool) throws(SQLiteError)
        -> Int
    {
        let counts = try connection.rows(
            "SELECT count(*) " + candidates(includeDead: includeDead), [.integer(cutoff)]
        ) { Int($0.int64(at: 0)) }
        return counts.first ?? 0
    }

    /// The `FROM … WHERE …` of the events that may go, with the cutoff as the one parameter.
    private static func candidates(includeDead: Bool) -> String {
        let finished = DeliveryStatus.prunable(includeDead: includeDead).sql
        return """
            FROM events e INDEXED BY events_by_received_at
            WHERE e.received_at < ?
              AND NOT EXISTS (
                SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status NOT IN (\(finished)))
            """
    }
}
