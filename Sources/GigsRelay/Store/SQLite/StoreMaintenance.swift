import Foundation

/// Operator changes to the store from the CLI: retrying dead deliveries and replaying events.
///
/// It opens its own connection next to the running daemon's (SQLite serialises the writers; the busy
/// timeout absorbs short waits). The daemon finds the changed deliveries by timer within a second.
public final class StoreMaintenance {
    private let connection: SQLiteConnection
    private let clock: any RelayClock
    /// Seals the stand-ins it stores and opens the bodies and errors it reads.
    private let sealer: PayloadSealer

    /// Opens an existing store for writing; never creates one.
    ///
    /// - Parameters:
    ///   - clock: the time changes are stamped with (and retries made due at).
    ///   - sealer: the store's keys (checked by the ``EventLogReader`` opened first).
    public init(path: String, clock: any RelayClock = SystemClock(), sealer: PayloadSealer = .plaintext)
        throws(StoreError)
    {
        self.clock = clock
        self.sealer = sealer
        do throws(SQLiteError) {
            guard FileManager.default.fileExists(atPath: path) else {
                throw SQLiteError(code: 14, message: "no event store at \(path)")
            }
            connection = try SQLiteConnection(path: path, mode: .create)
            try connection.execute("PRAGMA synchronous = FULL")
            // What an erasure or a reseal replaces is overwritten with zeros, not left in free pages.
            try connection.execute("PRAGMA secure_delete = ON")
        } catch {
            throw StoreError.openFailed(path: path, error)
        }
    }

    /// Operator changes are committed this many at a time, so the daemon's writer (which waits at most
    /// its busy timeout for the lock) is never held up long by a bulk retry, replay or prune.
    static let batchSize = 500

    /// Moves the given dead or failed deliveries back to `pending` with a fresh attempt budget, in batches
    /// of ``batchSize``; a dry run only reads.
    ///
    /// - Returns: the ids that were (or would be) retried; others did not exist or were not dead or failed.
    public func retry(_ ids: [DeliveryID], dryRun: Bool = false) throws(StoreError) -> [DeliveryID] {
        try move(ids, .retry, dryRun: dryRun)
    }

    /// Removes events received before `cutoff` (Unix ms) whose deliveries have all finished, with their
    /// deliveries and attempts, in batches of ``batchSize`` so the running daemon's writer is never held
    /// up long. A dry run counts with a read and changes nothing.
    ///
    /// - Parameter includeDead: also remove events with dead deliveries (never done by retention).
    /// - Returns: how many events were (or, with `dryRun`, would be) removed.
    public func prune(before cutoff: Int64, includeDead: Bool, dryRun: Bool) throws(StoreError) -> Int {
        if dryRun {
            do {
                return try StorePruning.count(connection, before: cutoff, includeDead: includeDead)
            } catch {
                throw StoreError.readFailed(error)
            }
        }
        var total = 0
        while true {
            let pruned = try transaction { () throws(SQLiteError) in
                try StorePruning.pruneBatch(
                    connection, before: cutoff, includeDead: includeDead, limit: Self.batchSize)
            }
            total += pruned
            if pruned < Self.batchSize { return total }
        }
    }

    /// Marks the given pending, failed or dead deliveries `skipped`, in batches of ``batchSize``; a dry run
    /// only reads.
    ///
    /// - Returns: the ids that were (or would be) skipped; others did not exist, were running or finished.
    public func skip(_ ids: [DeliveryID], dryRun: Bool = false) throws(StoreError) -> [DeliveryID] {
        try move(ids, .skip, dryRun: dryRun)
    }

    /// Applies an operator's change to each delivery it fits, in batches of ``batchSize``, and makes the
    /// parked deliveries of the changed ones' subjects due again; a dry run only reads.
    private func move(_ ids: [DeliveryID], _ move: DeliveryMove, dryRun: Bool) throws(StoreError) -> [DeliveryID] {
        var moved: [DeliveryID] = []
        for start in stride(from: 0, to: ids.count, by: Self.batchSize) {
            let batch = ids[start..<min(start + Self.batchSize, ids.count)].map(\.rawValue)
            let changed: Set<Int64>
            if dryRun {
                do {
                    changed = Set(try connection.rows(move.select(batch, .sqlite)) { $0.int64(at: 0) })
                } catch {
                    throw StoreError.readFailed(error)
                }
            } else {
                changed = try transaction { () throws(SQLiteError) in
                    let now = clock.now
                    let changed = Set(try connection.rows(move.update(batch, now: now, .sqlite)) { $0.int64(at: 0) })
                    if !changed.isEmpty {
                        _ = try connection.rows(OrderingSQL.unpark(subjectsOf: Array(changed), now: now, .sqlite)) {
                            _ in
                        }
                    }
                    return changed
                }
            }
            moved += batch.filter(changed.contains).map(DeliveryID.init)
        }
        return moved
    }

    /// Pauses or resumes an action; returns whether that changed anything.
    public func setPaused(_ action: String, _ paused: Bool) throws(StoreError) -> Bool {
        try transaction { () throws(SQLiteError) in
            _ = try connection.rows(
                paused ? ActionStateSQL.pause : ActionStateSQL.resume,
                paused ? [.text(action), .integer(clock.now)] : [.text(action)]
            ) { _ in true }
            return connection.changes == 1
        }
    }

    /// Every action with deliveries or a recorded state, by name.
    public func actionSummaries() throws(StoreError) -> [ActionSummary] {
        do {
            var summaries: [String: ActionSummary] = [:]
            let states = try connection.rows(ActionStateSQL.states, []) {
                var summary = ActionSummary(action: $0.text(at: 0) ?? "")
                summary.pausedAt = $0.optionalInt64(at: 1)
                summary.circuit = $0.text(at: 2).flatMap(CircuitState.init(rawValue:)) ?? .closed
                summary.circuitSince = $0.optionalInt64(at: 3)
                summary.circuitError = $0.text(at: 4)
                return summary
            }
            for summary in states { summaries[summary.action] = summary }
            let counts = try connection.rows(ActionStateSQL.counts, []) {
                ($0.text(at: 0) ?? "", $0.text(at: 1) ?? "", Int(clamping: $0.int64(at: 2)))
            }
            for (action, status, count) in counts {
                summaries[action, default: ActionSummary(action: action)].add(count, status: status)
            }
            for action in summaries.keys {
                let last = try connection.rows(ActionStateSQL.lastError, [.text(action)]) {
                    (DeliveryID($0.int64(at: 0)), $0.text(at: 1))
                }.first
                summaries[action]?.lastError = last.flatMap { sealer.open(text: $0.1, for: .delivery($0.0)) }
            }
            return summaries.keys.sorted().compactMap { summaries[$0] }
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// The ids of every dead delivery, oldest first.
    public func deadDeliveries() throws(StoreError) -> [DeliveryID] {
        do {
            return try connection.rows(
                "SELECT id FROM deliveries WHERE status = \(DeliveryStatus.dead.sql) ORDER BY id", []
            ) {
                DeliveryID($0.int64(at: 0))
            }
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// Stored events chosen for a replay: by id, or by type and received time.
    public func events(ids: [EventID]) throws(StoreError) -> [ReplayCandidate] {
        try query(
            "SELECT seq, id, type, body FROM events WHERE id = ?",
            bindings: ids.map { [.text($0.rawValue)] }
        )
    }

    /// Stored events of an exact type received in `[since, until)`, oldest first.
    public func events(type: String, since: Date, until: Date?) throws(StoreError) -> [ReplayCandidate] {
        try query(
            "SELECT seq, id, type, body FROM events WHERE type = ? AND received_at >= ? AND received_at < ? ORDER BY seq",
            bindings: [
                [.text(type), .integer(unixMilliseconds(since)), .integer(until.map { unixMilliseconds($0) } ?? .max)]
            ]
        )
    }

    /// Creates one new pending delivery per (event, action), marked as a replay, in batches of
    /// ``batchSize``. Each insert checks that its event is still stored (retention may have removed it
    /// since the plan was made), so no delivery is ever left without its event.
    ///
    /// - Returns: for each step of the plan, the new delivery's id, or nil when its event is gone.
    public func replay(_ plan: [(sequence: Int64, action: String)]) throws(StoreError) -> [DeliveryID?] {
        var created: [DeliveryID?] = []
        for start in stride(from: 0, to: plan.count, by: Self.batchSize) {
            let batch = plan[start..<min(start + Self.batchSize, plan.count)]
            created += try transaction { () throws(SQLiteError) in
                let insert = try connection.prepare(SQLiteStatement.insertReplaySQL)
                let now = clock.now
                var created: [DeliveryID?] = []
                for (sequence, action) in batch {
                    try insert.insertDelivery(eventSequence: sequence, action: action, at: now, replay: true)
                    created.append(connection.changes == 1 ? DeliveryID(connection.lastInsertedRowID) : nil)
                }
                return created
            }
        }
        return created
    }

    private func query(
        _ sql: String,
        bindings: [[SQLiteValue]]
    ) throws(StoreError) -> [ReplayCandidate] {
        var rows: [ReplayCandidate] = []
        do throws(SQLiteError) {
            for parameters in bindings {
                rows += try connection.rows(sql, parameters) {
                    ReplayCandidate(
                        sequence: $0.int64(at: 0), id: EventID($0.text(at: 1) ?? ""), type: $0.text(at: 2) ?? "",
                        body: $0.bytes(at: 3))
                }
            }
        } catch {
            throw StoreError.readFailed(error)
        }
        let sealer = sealer
        return try rows.map { (row) throws(StoreError) in try row.opened(by: sealer) }
    }

    /// Stores each stand-in (``StandIn``) with its deliveries, pending, unless an event with its id is
    /// stored already, in batches of ``batchSize``. Returns, for each, whether it was stored now.
    public func appendStandIns(_ events: [(event: VerifiedEvent, deliveries: [NewDelivery])]) throws(StoreError)
        -> [Bool]
    {
        var stored: [Bool] = []
        let sealer = sealer
        for start in stride(from: 0, to: events.count, by: Self.batchSize) {
            let batch = events[start..<min(start + Self.batchSize, events.count)]
            stored += try transaction { () throws(SQLiteError) in
                if let current = sealer.current {
                    _ = try connection.rows(StoreKeySQL.list, [.text(current.id), .integer(clock.now)]) { _ in () }
                }
                let insertEvent = try connection.prepare(SQLiteStatement.insertEventSQL)
                let insertDelivery = try connection.prepare(SQLiteStatement.insertDeliverySQL)
                var stored: [Bool] = []
                for (event, deliveries) in batch {
                    // Never a stand-in of a user whose events were erased.
                    if let user = event.user {
                        let erased = try connection.rows(ErasureSQL.userErased, [.text(user)]) { _ in true }
                        guard erased.isEmpty else {
                            stored.append(false)
                            continue
                        }
                    }
                    // The genuine event stored since the run looked (under the write lock, so the writer's
                    // append of it either came before this or sees the stand-in and dispatches nothing).
                    if let subject = event.subject, let resource = event.resource {
                        let candidates = try connection.rows(
                            StandInSQL.genuineCandidates, [.text(subject), .text(event.type)]
                        ) { row in
                            let id = EventID(row.text(at: 0) ?? "")
                            return (id, (try? sealer.open(row.bytes(at: 1), for: .event(id))) ?? [])
                        }
                        if candidates.contains(where: { StandIn.isGenuine(id: $0.0, body: $0.1, for: resource) }) {
                            stored.append(false)
                            continue
                        }
                    }
                    try insertEvent.insertEvent(event.sealed(by: sealer))
                    guard connection.changes == 1 else {
                        stored.append(false)
                        continue
                    }
                    let sequence = connection.lastInsertedRowID
                    let orderAt = deliveries.contains { $0.subject != nil } ? event.orderAt : event.receivedAt
                    for delivery in deliveries {
                        try insertDelivery.insertDelivery(
                            eventSequence: sequence, action: delivery.action, at: event.receivedAt, replay: false,
                            dueAt: delivery.dueAt, subject: delivery.subject, orderAt: orderAt)
                    }
                    stored.append(true)
                }
                return stored
            }
        }
        return stored
    }

    /// Records the start of a run when `isDue` says so of the last run of `trigger`: the read and the
    /// insert are one write transaction, so of two processes asking at once one starts.
    public func startReconcileRun(
        _ trigger: ReconcileTrigger, instance: String, when isDue: (ReconcileRun?) -> Bool
    ) throws(StoreError) -> Int64? {
        try transaction { () throws(SQLiteError) -> Int64? in
            let last = try connection.rows(ReconcileRunSQL.last, [.text(trigger.rawValue)], Self.reconcileRun).first
            guard isDue(last) else { return nil }
            return try connection.rows(
                ReconcileRunSQL.start, [.text(trigger.rawValue), .text(instance), .integer(clock.now)]
            ) { $0.int64(at: 0) }.first
        }
    }

    /// Records what run `id` found, and removes the runs older than the newest ``ReconcileRun/kept``.
    public func finishReconcileRun(_ id: Int64, result: Reconciliation) throws(StoreError) {
        try transaction { () throws(SQLiteError) in
            _ = try connection.rows(
                ReconcileRunSQL.finish,
                [
                    .integer(clock.now), .integer(Int64(result.missing.count)), .text(ReconcileRunSQL.text(result)),
                    .integer(id),
                ]
            ) { _ in () }
            _ = try connection.rows(ReconcileRunSQL.trim, [.integer(id - Int64(ReconcileRun.kept) + 1)]) { _ in () }
        }
    }

    /// A row of ``ReconcileRunSQL/columns``.
    static func reconcileRun(_ row: SQLiteStatement) -> ReconcileRun {
        ReconcileRunSQL.run(
            id: row.int64(at: 0), trigger: row.text(at: 1) ?? "", instance: row.text(at: 2) ?? "",
            startedAt: row.int64(at: 3), finishedAt: row.optionalInt64(at: 4), missingCount: row.int64(at: 5),
            result: row.text(at: 6))
    }

    /// One batch of ``Reseal``, in one transaction.
    public func reseal(_ table: Reseal.Table, after cursor: Int64, mode: Reseal.Mode) throws(StoreError)
        -> Reseal.Batch
    {
        let sealer = sealer
        var failure: StoreError?
        let batch = try transaction { () throws(SQLiteError) -> Reseal.Batch in
            // The key is listed before the first row sealed with it (the daemon lists its own at start).
            if let current = sealer.current {
                _ = try connection.rows(StoreKeySQL.list, [.text(current.id), .integer(clock.now)]) { _ in () }
            }
            let rows = try connection.rows(
                ResealSQL.page(table), [.integer(cursor), .integer(Int64(Reseal.batchSize))]
            ) { Self.resealRow(table, $0) }
            var batch = Reseal.Batch(cursor: rows.last?.id, read: rows.count)
            let update = try connection.prepare(ResealSQL.update(table))
            for row in rows {
                let values: ResealRow.Values?
                do throws(StoreError) {
                    values = try row.resealed(by: sealer, mode: mode)
                } catch {
                    failure = error
                    break
                }
                defer { update.reset() }
                switch (values, row.values) {
                case (.body(let new)?, .body(let old)):
                    try update.bind(bytes: new, at: 1)
                    try update.bind(row.id, at: 2)
                    try update.bind(bytes: old, at: 3)
                case (.lastError(let new)?, .lastError(let old)):
                    try update.bind(new, at: 1)
                    try update.bind(row.id, at: 2)
                    try update.bind(old, at: 3)
                case (.attempt(let error, let output)?, _):
                    try update.bind(error, at: 1)
                    try update.bind(output, at: 2)
                    try update.bind(row.id, at: 3)
                default:
                    continue
                }
                try update.step()
                batch.changed += connection.changes
            }
            return batch
        }
        if let failure { throw failure }
        return batch
    }

    /// A row of ``ResealSQL/page(_:)``.
    private static func resealRow(_ table: Reseal.Table, _ row: SQLiteStatement) -> ResealRow {
        let id = row.int64(at: 0)
        switch table {
        case .events:
            return ResealRow(id: id, owner: .event(EventID(row.text(at: 1) ?? "")), values: .body(row.bytes(at: 2)))
        case .deliveries:
            return ResealRow(id: id, owner: .delivery(DeliveryID(id)), values: .lastError(row.text(at: 1)))
        case .attempts:
            return ResealRow(
                id: id, owner: .delivery(DeliveryID(row.int64(at: 1))),
                values: .attempt(error: row.text(at: 2), output: row.text(at: 3)))
        }
    }

    /// Erases the events `selection` takes (``Erasure``), a batch per transaction; then checkpoints the WAL
    /// so the replaced pages leave it too (best effort: a reader holding an old snapshot keeps them until
    /// the next checkpoint).
    public func erase(_ selection: Erasure.Selection, reason: String, dryRun: Bool) throws(StoreError)
        -> Erasure.Result
    {
        var result = Erasure.Result()
        var cursor: Int64 = 0
        while true {
            let now = clock.now
            let page = try transaction { () throws(SQLiteError) -> (Int64, Erasure.Result)? in
                let (sql, texts, numbers) = ErasureSQL.candidates(selection, after: cursor)
                let candidates = try connection.rows(
                    sql, texts.map(SQLiteValue.text) + numbers.map(SQLiteValue.integer)
                ) {
                    Erasure.Candidate(
                        sequence: $0.int64(at: 0), id: $0.text(at: 1) ?? "", type: $0.text(at: 2) ?? "",
                        subject: $0.text(at: 3), time: $0.text(at: 4))
                }
                guard let last = candidates.last else { return nil }
                let sequences = candidates.map(\.sequence)
                var changed = Erasure.Result(events: candidates.count)
                if dryRun {
                    let counts =
                        try connection.rows(ErasureSQL.counts(sequences, .sqlite)) {
                            (Int($0.int64(at: 0)), Int($0.int64(at: 1)))
                        }.first ?? (0, 0)
                    changed.attempts = counts.0
                    changed.skippedDeliveries = counts.1
                    return (last.sequence, changed)
                }
                let tombstone = try connection.prepare(ErasureSQL.tombstone)
                for candidate in candidates {
                    defer { tombstone.reset() }
                    try tombstone.bind(bytes: Erasure.tombstone(candidate, at: now, reason: reason), at: 1)
                    try tombstone.bind(now, at: 2)
                    try tombstone.bind(candidate.sequence, at: 3)
                    try tombstone.step()
                }
                let statements = ErasureSQL.changes(sequences, now: now, reason: reason, .sqlite)
                changed.attempts = try connection.rows(statements[0]) { _ in () }.count
                _ = try connection.rows(statements[1]) { _ in () }
                changed.skippedDeliveries = try connection.rows(statements[2]) { _ in () }.count
                return (last.sequence, changed)
            }
            guard let (last, changed) = page else { break }
            cursor = last
            result = result + changed
        }
        if !dryRun, result.events > 0 {
            _ = try? connection.scalarText("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        return result
    }

    /// Stored `com.gigs.user.deleted` events not erased yet, oldest first.
    public func userDeletions(limit: Int) throws(StoreError) -> [Erasure.Deletion] {
        do {
            return try connection.rows(ErasureSQL.deletions, [.integer(Int64(limit))]) {
                Erasure.Deletion(
                    sequence: $0.int64(at: 0), id: EventID($0.text(at: 1) ?? ""), user: $0.text(at: 2) ?? "",
                    isDelivered: $0.int64(at: 3) == 1)
            }
        } catch {
            throw StoreError.readFailed(error)
        }
    }

    /// Unlists every key but `keeping`; returns how many.
    public func unlistKeys(keeping: String) throws(StoreError) -> Int {
        try transaction { () throws(SQLiteError) -> Int in
            _ = try connection.rows(ResealSQL.unlistOthers, [.text(keeping)]) { _ in () }
            return connection.changes
        }
    }

    /// Runs `body` in an immediate transaction; rolls back when it fails.
    private func transaction<T>(_ body: () throws(SQLiteError) -> T) throws(StoreError) -> T {
        do throws(SQLiteError) {
            try connection.execute("BEGIN IMMEDIATE")
            do throws(SQLiteError) {
                let result = try body()
                try connection.execute("COMMIT")
                return result
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        } catch {
            throw StoreError.unavailable(error)
        }
    }
}
