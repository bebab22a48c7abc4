import Foundation
import NIOCore
import PostgresNIO

/// Erasure (``Erasure``) on PostgreSQL. An erased row's earlier versions stay in the table's pages until
/// `VACUUM` reclaims them (docs/encryption.md); sealed anyway when the store encrypts.
extension PostgresStore {
    public func erase(_ selection: Erasure.Selection, reason: String, dryRun: Bool) async throws(StoreError)
        -> Erasure.Result
    {
        var result = Erasure.Result()
        var cursor: Int64 = 0
        let logger = logger
        while true {
            let now = clock.now
            let (sql, texts, numbers) = ErasureSQL.candidates(selection, after: cursor)
            var binds = PostgresBindings()
            for text in texts { binds.append(text.postgresText) }
            for number in numbers { binds.append(number) }
            let query = PostgresQuery(unsafeSQL: sql, binds: binds)
            let page = try await write { client in
                try await client.withTransaction(logger: logger) { connection -> (Int64, Erasure.Result)? in
                    var candidates: [Erasure.Candidate] = []
                    for try await (seq, id, type, subject, time) in try await connection.query(query, logger: logger)
                        .decode((Int64, String, String, String?, String?).self)
                    {
                        candidates.append(
                            Erasure.Candidate(sequence: seq, id: id, type: type, subject: subject, time: time))
                    }
                    guard let last = candidates.last else { return nil }
                    let sequences = candidates.map(\.sequence)
                    var changed = Erasure.Result(events: candidates.count)
                    if dryRun {
                        for try await (attempts, deliveries) in try await connection.query(
                            PostgresQuery(ErasureSQL.counts(sequences, .postgres)), logger: logger
                        ).decode((Int64, Int64).self) {
                            changed.attempts = Int(attempts)
                            changed.skippedDeliveries = Int(deliveries)
                        }
                        return (last.sequence, changed)
                    }
                    for candidate in candidates {
                        try await connection.query(
                            PostgresQuery(
                                unsafeSQL: ErasureSQL.tombstone,
                                binds: Self.binds(
                                    ByteBuffer(bytes: Erasure.tombstone(candidate, at: now, reason: reason)), now,
                                    candidate.sequence)),
                            logger: logger)
                    }
                    var counts: [Int] = []
                    for statement in ErasureSQL.changes(sequences, now: now, reason: reason, .postgres) {
                        counts.append(
                            try await connection.query(PostgresQuery(statement), logger: logger).decode(Int64.self)
                                .collect().count)
                    }
                    changed.attempts = counts[0]
                    changed.skippedDeliveries = counts[2]
                    return (last.sequence, changed)
                }
            }
            guard let (last, changed) = page else { break }
            cursor = last
            result = result + changed
        }
        return result
    }

    public func userDeletions(limit: Int) async throws(StoreError) -> [Erasure.Deletion] {
        try await read { client, logger in
            var deletions: [Erasure.Deletion] = []
            for try await (seq, id, user, delivered) in try await client.query(
                PostgresQuery(unsafeSQL: ErasureSQL.deletions, binds: Self.binds(Int64(limit))), logger: logger
            ).decode((Int64, String, String, Int32).self) {
                deletions.append(
                    Erasure.Deletion(sequence: seq, id: EventID(id), user: user, isDelivered: delivered == 1))
            }
            return deletions
        }
    }
}
