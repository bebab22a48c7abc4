import NIOCore
import PostgresNIO

/// `gigs-relay store encrypt` and `store rekey` on PostgreSQL (``Reseal``).
extension PostgresStore {
    public func reseal(_ table: Reseal.Table, after cursor: Int64, mode: Reseal.Mode) async throws(StoreError)
        -> Reseal.Batch
    {
        let sealer = sealer
        let logger = logger
        let page = PostgresQuery(
            unsafeSQL: ResealSQL.page(table), binds: Self.binds(cursor, Int64(Reseal.batchSize)))
        return try await write { client in
            try await client.withTransaction(logger: logger) { connection in
                var rows: [ResealRow] = []
                let result = try await connection.query(page, logger: logger)
                switch table {
                case .events:
                    for try await (seq, id, body) in result.decode((Int64, String, ByteBuffer).self) {
                        rows.append(
                            ResealRow(
                                id: seq, owner: .event(EventID(id)), values: .body(Array(body.readableBytesView))))
                    }
                case .deliveries:
                    for try await (id, error) in result.decode((Int64, String?).self) {
                        rows.append(ResealRow(id: id, owner: .delivery(DeliveryID(id)), values: .lastError(error)))
                    }
                case .attempts:
                    for try await (id, delivery, error, output) in result.decode((Int64, Int64, String?, String?).self)
                    {
                        rows.append(
                            ResealRow(
                                id: id, owner: .delivery(DeliveryID(delivery)),
                                values: .attempt(error: error, output: output)))
                    }
                }
                var batch = Reseal.Batch(cursor: rows.last?.id, read: rows.count)
                // Events and deliveries in one statement per batch; attempts (few hold texts) one by one.
                var ids: [Int64] = []
                var newBodies: [ByteBuffer] = []
                var oldBodies: [ByteBuffer] = []
                var newTexts: [String] = []
                var oldTexts: [String] = []
                for row in rows {
                    switch (try row.resealed(by: sealer, mode: mode), row.values) {
                    case (.body(let new)?, .body(let old)):
                        ids.append(row.id)
                        newBodies.append(ByteBuffer(bytes: new))
                        oldBodies.append(ByteBuffer(bytes: old))
                    case (.lastError(let new?)?, .lastError(let old?)):
                        ids.append(row.id)
                        newTexts.append(new)
                        oldTexts.append(old)
                    case (.attempt(let error, let output)?, _):
                        var binds = PostgresBindings()
                        binds.append(error)
                        binds.append(output)
                        binds.append(row.id)
                        let updated = try await connection.query(
                            PostgresQuery(unsafeSQL: ResealSQL.update(.attempts) + " RETURNING 1", binds: binds),
                            logger: logger
                        ).decode(Int32.self).collect()
                        batch.changed += updated.count
                    default:
                        continue
                    }
                }
                guard !ids.isEmpty else { return batch }
                var binds = PostgresBindings()
                binds.append(ids)
                if table == .events {
                    binds.append(newBodies)
                    binds.append(oldBodies)
                } else {
                    binds.append(newTexts)
                    binds.append(oldTexts)
                }
                let updated = try await connection.query(
                    PostgresQuery(
                        unsafeSQL: table == .events ? Self.resealEvents : Self.resealDeliveries, binds: binds),
                    logger: logger
                ).decode(Int32.self).collect()
                batch.changed += updated.count
                return batch
            }
        }
    }

    /// A batch's sealed bodies: $1 seqs, $2 the new bodies, $3 the bodies read (a row changed since is
    /// left as it is).
    private static let resealEvents = """
        UPDATE events e SET body = u.new FROM unnest($1::int8[], $2::bytea[], $3::bytea[]) AS u(seq, new, old)
        WHERE e.seq = u.seq AND e.body = u.old RETURNING 1
        """
    /// A batch's sealed delivery errors: $1 ids, $2 the new errors, $3 the errors read.
    private static let resealDeliveries = """
        UPDATE deliveries d SET last_error = u.new FROM unnest($1::int8[], $2::text[], $3::text[]) AS u(id, new, old)
        WHERE d.id = u.id AND d.last_error = u.old RETURNING 1
        """

    public func unlistKeys(keeping: String) async throws(StoreError) -> Int {
        let logger = logger
        return try await write { client in
            try await client.query(
                PostgresQuery(
                    unsafeSQL: ResealSQL.unlistOthers + " RETURNING 1", binds: Self.binds(keeping.postgresText)),
                logger: logger
            ).decode(Int32.self).collect().count
        }
    }
}
