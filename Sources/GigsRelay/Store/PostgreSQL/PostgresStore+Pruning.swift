import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// Retention: removing old events whose deliveries are all finished, with their deliveries and attempts.
extension PostgresStore {
    public func prune(before cutoff: Int64, limit: Int) async throws(StoreError) -> Int {
        let logger = logger
        return try await write { client in
            try await client.withTransaction(logger: logger) { connection in
                // One instance prunes at a time; the others find the lock taken and leave it to that one.
                var locked = false
                for try await taken in try await connection.query(
                    "SELECT pg_try_advisory_xact_lock(\(PostgresSchema.retentionLock))", logger: logger
                ).decode(Bool.self) {
                    locked = taken
                }
                guard locked else { return 0 }
                return try await Self.pruneBatch(
                    connection, before: cutoff, includeDead: false, limit: limit, logger: logger)
            }
        }
    }

    public func prune(before cutoff: Int64, includeDead: Bool, dryRun: Bool) async throws(StoreError) -> Int {
        let logger = logger
        if dryRun {
            return try await read { client, logger in
                var count = 0
                for try await value in try await client.query(
                    PostgresQuery(
                        unsafeSQL: "SELECT count(*) " + Self.pruneCandidates(includeDead: includeDead),
                        binds: Self.binds(cutoff)),
                    logger: logger
                ).decode(Int64.self) {
                    count = Int(clamping: value)
                }
                return count
            }
        }
        var total = 0
        while true {
            let pruned = try await write { client in
                try await client.withTransaction(logger: logger) { connection in
                    try await Self.pruneBatch(
                        connection, before: cutoff, includeDead: includeDead, limit: StoreMaintenance.batchSize,
                        logger: logger)
                }
            }
            total += pruned
            if pruned < StoreMaintenance.batchSize { return total }
        }
    }

    /// The `FROM … WHERE …` of the events that may go, with the cutoff as `$1`.
    private static func pruneCandidates(includeDead: Bool) -> String {
        let finished = DeliveryStatus.prunable(includeDead: includeDead).sql
        return """
            FROM events e
            WHERE e.received_at < $1
              AND NOT EXISTS (
                SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq AND d.status NOT IN (\(finished)))
            """
    }

    /// Deletes up to `limit` events received before `cutoff`, oldest first, with their deliveries and
    /// attempts, inside the caller's transaction; returns how many.
    private static func pruneBatch(
        _ connection: PostgresConnection,
        before cutoff: Int64,
        includeDead: Bool,
        limit: Int,
        logger: Logger
    ) async throws -> Int {
        let sequences = try await connection.query(
            PostgresQuery(
                unsafeSQL: "SELECT e.seq " + pruneCandidates(includeDead: includeDead)
                    + " ORDER BY e.received_at LIMIT $2 FOR UPDATE OF e SKIP LOCKED",
                binds: binds(cutoff, Int64(limit))),
            logger: logger
        ).decode(Int64.self).collect()
        guard !sequences.isEmpty else { return 0 }
        try await connection.query(
            """
            DELETE FROM attempts WHERE delivery_id IN (SELECT id FROM deliveries WHERE event_seq = ANY(\(sequences)))
            """, logger: logger)
        try await connection.query("DELETE FROM deliveries WHERE event_seq = ANY(\(sequences))", logger: logger)
        try await connection.query("DELETE FROM events WHERE seq = ANY(\(sequences))", logger: logger)
        return sequences.count
    }
}
