import PostgresNIO

extension PostgresStore {
    public func startReconcileRun(
        _ trigger: ReconcileTrigger, instance: String, when isDue: @escaping @Sendable (ReconcileRun?) -> Bool
    ) async throws(StoreError) -> Int64? {
        let logger = logger
        let now = clock.now
        return try await write { client in
            try await client.withTransaction(logger: logger) { connection -> Int64? in
                // One instance decides at a time; another finds the lock taken and leaves it to that one.
                var locked = false
                for try await taken in try await connection.query(
                    "SELECT pg_try_advisory_xact_lock(\(PostgresSchema.reconcileLock))", logger: logger
                ).decode(Bool.self) {
                    locked = taken
                }
                guard locked else { return nil }
                var last: ReconcileRun?
                for try await row in try await connection.query(
                    PostgresQuery(unsafeSQL: ReconcileRunSQL.last, binds: Self.binds(trigger.rawValue)), logger: logger
                ).decode(Row.self) {
                    last = Self.reconcileRun(row)
                }
                guard isDue(last) else { return nil }
                var id: Int64?
                for try await value in try await connection.query(
                    PostgresQuery(
                        unsafeSQL: ReconcileRunSQL.start,
                        binds: Self.binds(trigger.rawValue, instance.postgresText, now)),
                    logger: logger
                ).decode(Int64.self) {
                    id = value
                }
                return id
            }
        }
    }

    public func finishReconcileRun(_ id: Int64, result: Reconciliation) async throws(StoreError) {
        let logger = logger
        let finish = PostgresQuery(
            unsafeSQL: ReconcileRunSQL.finish,
            binds: Self.binds(clock.now, Int64(result.missing.count), ReconcileRunSQL.text(result).postgresText, id))
        let trim = PostgresQuery(unsafeSQL: ReconcileRunSQL.trim, binds: Self.binds(id - Int64(ReconcileRun.kept) + 1))
        try await write { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(finish, logger: logger)
                try await connection.query(trim, logger: logger)
            }
        }
    }

    public func reconcileRuns(limit: Int) async throws(StoreError) -> [ReconcileRun] {
        let query = PostgresQuery(unsafeSQL: ReconcileRunSQL.latest, binds: Self.binds(Int64(limit)))
        return try await read { client, logger in
            try await client.query(query, logger: logger).decode(Row.self).collect().map(Self.reconcileRun)
        }
    }

    /// A row of ``ReconcileRunSQL/columns``.
    private typealias Row = (Int64, String, String, Int64, Int64?, Int64, String?)

    private static func reconcileRun(_ row: Row) -> ReconcileRun {
        ReconcileRunSQL.run(
            id: row.0, trigger: row.1, instance: row.2, startedAt: row.3, finishedAt: row.4, missingCount: row.5,
            result: row.6)
    }
}
