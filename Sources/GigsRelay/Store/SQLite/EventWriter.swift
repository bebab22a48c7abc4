import Foundation
import Logging

/// The writer thread's connection and prepared statements: every write of the process goes through it.
final class EventWriter: @unchecked Sendable {
    // Safe because after `init` only the store's writer thread uses it.

    /// The open connection and its statements; nil once closed.
    private struct Statements {
        let connection: SQLiteConnection
        let begin: SQLiteStatement
        let commit: SQLiteStatement
        let insertEvent: SQLiteStatement
        let insertDelivery: SQLiteStatement
        let selectDue: SQLiteStatement
        let markRunning: SQLiteStatement
        let markPoisoned: SQLiteStatement
        let nextDue: SQLiteStatement
        let finish: SQLiteStatement
        let release: SQLiteStatement
        let insertAttempt: SQLiteStatement
        let countEvents: SQLiteStatement
        let countPending: SQLiteStatement
        let countDead: SQLiteStatement
        let queuedActions: SQLiteStatement
        let selectPaused: SQLiteStatement
        let recordCircuit: SQLiteStatement

        init(connection: SQLiteConnection) throws(SQLiteError) {
            self.connection = connection
            begin = try connection.prepare("BEGIN IMMEDIATE")
            commit = try connection.prepare("COMMIT")
            insertEvent = try connection.prepare(
                """
                INSERT INTO events (id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body,
                    subject)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (id) DO NOTHING
                """
            )
            insertDelivery = try connection.prepare(SQLiteStatement.insertDeliverySQL)
            selectDue = try connection.prepare(
                """
                SELECT d.id, d.action, d.attempts, d.status, e.id, e.type, e.body, e.received_at, d.lease_expirations,
                    d.replay, ?4 = 1 AND d.subject IS NOT NULL AND \(SQLiteStatement.laterDelivered)
                FROM deliveries d INDEXED BY deliveries_due_by_action JOIN events e ON e.seq = d.event_seq
                WHERE d.action = ?1 AND d.status IN ('pending', 'failed', 'running') AND d.next_attempt_at <= ?2
                    AND (?4 = 0 OR d.subject IS NULL OR NOT \(SQLiteStatement.subjectHeld))
                ORDER BY d.next_attempt_at, d.id LIMIT ?3
                """
            )
            markRunning = try connection.prepare(
                """
                UPDATE deliveries SET status = 'running', attempts = attempts + 1, next_attempt_at = ?1, updated_at = ?2,
                    lease_expirations = lease_expirations + ?3, out_of_order = max(out_of_order, ?5)
                WHERE id = ?4
                """
            )
            markPoisoned = try connection.prepare(
                """
                UPDATE deliveries SET status = 'dead', lease_expirations = lease_expirations + 1, last_error = ?,
                    next_attempt_at = 0, updated_at = ?
                WHERE id = ? AND status = 'running'
                """
            )
            selectPaused = try connection.prepare("SELECT action FROM action_state WHERE paused_at IS NOT NULL")
            recordCircuit = try connection.prepare(ActionStateSQL.recordCircuit)
            nextDue = try connection.prepare(
                """
                SELECT next_attempt_at FROM deliveries INDEXED BY deliveries_due_by_action
                WHERE action = ? AND status IN ('pending', 'failed', 'running') ORDER BY next_attempt_at LIMIT 1
                """
            )
            finish = try connection.prepare(
                """
                UPDATE deliveries SET status = ?, next_attempt_at = ?, last_error = ?, updated_at = ?
                WHERE id = ? AND attempts = ? AND status = 'running'
                """
            )
            release = try connection.prepare(
                """
                UPDATE deliveries SET status = 'pending', attempts = attempts - 1, next_attempt_at = ?, updated_at = ?
                WHERE id = ? AND attempts = ? AND status = 'running'
                """
            )
            insertAttempt = try connection.prepare(
                """
                INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, error, output)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
            )
            countEvents = try connection.prepare("SELECT coalesce(max(seq), 0) FROM events")
            countPending = try connection.prepare(
                """
                SELECT count(*), min(created_at) FROM deliveries INDEXED BY deliveries_due
                WHERE status IN ('pending', 'failed', 'running')
                """
            )
            countDead = try connection.prepare("SELECT count(*) FROM deliveries WHERE status = 'dead'")
            // The distinct actions of unfinished deliveries, one index seek per action (a loose index scan),
            // however large the backlog.
            queuedActions = try connection.prepare(
                """
                WITH RECURSIVE queued(action) AS (
                    SELECT min(action) FROM deliveries INDEXED BY deliveries_due_by_action
                    WHERE status IN ('pending', 'failed', 'running')
                    UNION ALL
                    SELECT (
                        SELECT min(action) FROM deliveries INDEXED BY deliveries_due_by_action
                        WHERE status IN ('pending', 'failed', 'running') AND action > queued.action
                    ) FROM queued WHERE queued.action IS NOT NULL
                )
                SELECT action FROM queued WHERE action IS NOT NULL LIMIT 1000
                """
            )
        }
    }

    private var statements: Statements?
    /// Which action's queue a claim takes from first; advances every claim, so no action is always first.
    private var claimTurn = 0
    private let logger: Logger
    private let health: StoreHealth
    /// Called after a commit that created deliveries, to wake the dispatcher.
    private let onDeliveriesCreated: @Sendable () -> Void

    init(
        connection: SQLiteConnection,
        logger: Logger,
        health: StoreHealth,
        onDeliveriesCreated: @escaping @Sendable () -> Void
    ) throws(SQLiteError) {
        self.logger = logger
        self.health = health
        self.onDeliveriesCreated = onDeliveriesCreated
        self.statements = try Statements(connection: connection)
    }

    /// Runs the batch in one transaction, then answers every caller; when the transaction fails, every
    /// caller gets the failure and nothing of the batch is stored.
    func write(_ batch: [WriteQueue.Operation]) {
        guard let statements else {
            for operation in batch { operation.fail(.closed) }
            return
        }
        var replies: [() -> Void] = []
        replies.reserveCapacity(batch.count)
        var createdDeliveries = false
        var wroteData = false
        do {
            try Self.run(statements.begin)
            for operation in batch {
                switch operation {
                case .append(let event, let deliveries, let reply):
                    wroteData = true
                    let result = try append(event, deliveries: deliveries, using: statements)
                    createdDeliveries = createdDeliveries || (result == .accepted && !deliveries.isEmpty)
                    replies.append { reply.resume(returning: .success(result)) }
                case .claim(let request, let reply):
                    let claim = try claim(request, using: statements)
                    replies.append { reply.resume(returning: .success(claim)) }
                case .finish(let record, let reply):
                    try finish(record, using: statements)
                    replies.append { reply.resume(returning: .success(())) }
                case .stats(let probeBytes, let reply):
                    if let probeBytes {
                        // As large as the largest event: a full disk may still take a small write.
                        let probe = try statements.connection.prepare(
                            "INSERT OR REPLACE INTO store_probe (id, filler) VALUES (1, zeroblob(?))")
                        try probe.bind(Int64(probeBytes), at: 1)
                        try probe.step()
                        wroteData = true
                    }
                    let stats = try stats(using: statements)
                    replies.append { reply.resume(returning: .success(stats)) }
                case .prune(let cutoff, let limit, let reply):
                    let pruned = try StorePruning.pruneBatch(
                        statements.connection, before: cutoff, includeDead: false, limit: limit)
                    replies.append { reply.resume(returning: .success(pruned)) }
                case .recordCircuit(let change, let reply):
                    let record = statements.recordCircuit
                    defer { record.reset() }
                    try record.bind(change.action, at: 1)
                    try record.bind(change.state.rawValue, at: 2)
                    try record.bind(change.at, at: 3)
                    try record.bind(change.error, at: 4)
                    try record.step()
                    replies.append { reply.resume(returning: .success(())) }
                case .blockedSubjects(let actions, let reply):
                    var blocked = BlockedSubjects()
                    if !actions.isEmpty {
                        let placeholders = Array(repeating: "?", count: actions.count).joined(separator: ", ")
                        let counted = try statements.connection.rows(
                            OrderingSQL.blocked(actions: placeholders), actions.map(SQLiteValue.text)
                        ) { row in
                            BlockedSubjects(
                                count: Int(clamping: row.int64(at: 0)), oldestSince: row.optionalInt64(at: 1))
                        }
                        blocked = counted.first ?? blocked
                    }
                    replies.append { reply.resume(returning: .success(blocked)) }
                }
            }
            try Self.run(statements.commit)
        } catch {
            if !statements.connection.isAutocommit { try? statements.connection.execute("ROLLBACK") }
            logger.error(
                "Event store write failed",
                metadata: [LogKey.error: "\(error)", LogKey.storeBatch: "\(batch.count)"]
            )
            health.recordFailure(error)
            for operation in batch { operation.fail(.unavailable(error)) }
            return
        }
        if wroteData { health.recordWrite() }
        logger.trace("Committed batch", metadata: [LogKey.storeBatch: "\(batch.count)"])
        for reply in replies { reply() }
        if createdDeliveries { onDeliveriesCreated() }
    }

    private func append(
        _ event: VerifiedEvent,
        deliveries: [NewDelivery],
        using statements: Statements
    ) throws(SQLiteError) -> AppendResult {
        let insert = statements.insertEvent
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
        try insert.bind(event.subject, at: 10)
        try insert.step()
        guard statements.connection.changes == 1 else { return .duplicate }
        let sequence = statements.connection.lastInsertedRowID
        let orderAt = deliveries.contains { $0.subject != nil } ? event.orderAt : event.receivedAt
        for delivery in deliveries {
            try statements.insertDelivery.insertDelivery(
                eventSequence: sequence,
                action: delivery.action,
                at: event.receivedAt,
                replay: false,
                dueAt: delivery.dueAt,
                subject: delivery.subject,
                orderAt: orderAt
            )
        }
        return .accepted
    }

    /// Picks due deliveries (including running ones whose lease expired) of the requested actions, each
    /// within its room, taking the actions in turn (oldest due first within each, a different action first
    /// at each claim) so that one action's backlog cannot crowd out another's; marks them running under a
    /// new lease.
    ///
    /// An expired lease means an attempt started and never finished: the process died or hung during it.
    /// That attempt counts. A delivery whose expired attempt was its last allowed one becomes `dead`
    /// ("attempt did not finish: lease expired N times") instead of being run again, so a delivery that
    /// crashes the daemon costs at most `max_attempts` restarts.
    private func claim(_ request: ClaimRequest, using statements: Statements) throws(SQLiteError) -> Claim {
        var queues: [[ClaimedRow]] = []
        var poisoned: [PoisonedDelivery] = []
        var paused: Set<String> = []
        do {
            let select = statements.selectPaused
            defer { select.reset() }
            while try select.step() {
                if let action = select.text(at: 0) { paused.insert(action) }
            }
        }
        if let until = request.parkBlockedUntil {
            for (action, settings) in request.actions where settings.ordered && settings.deadBlocks {
                _ = try statements.connection.rows(
                    OrderingSQL.park, [.integer(until), .integer(request.now), .text(action)]
                ) { _ in true }
            }
        }
        let select = statements.selectDue
        for (action, settings) in request.actions.sorted(by: { $0.key < $1.key })
        where settings.room > 0 && !paused.contains(action) {
            var queue: [ClaimedRow] = []
            defer { select.reset() }
            try select.bind(action, at: 1)
            try select.bind(request.now, at: 2)
            try select.bind(Int64(min(settings.room, request.limit)), at: 3)
            try select.bind(settings.ordered ? 1 : 0, at: 4)
            try select.bind(settings.deadBlocks ? 1 : 0, at: 5)
            while try select.step() {
                let id = DeliveryID(select.int64(at: 0))
                let previousAttempts = Int(clamping: select.int64(at: 2))
                let eventID = EventID(select.text(at: 4) ?? "")
                let leaseExpired = select.text(at: 3) == DeliveryStatus.running.rawValue
                if leaseExpired && previousAttempts >= settings.maxAttempts {
                    let error = PoisonedDelivery.error(
                        expirations: select.int64(at: 8).saturatingAdd(1), attempts: previousAttempts,
                        maxAttempts: settings.maxAttempts)
                    poisoned.append(
                        PoisonedDelivery(
                            id: id, eventID: eventID, action: action, attempts: previousAttempts, error: error))
                    continue
                }
                var job = DeliveryJob(
                    id: id,
                    eventID: eventID,
                    eventType: select.text(at: 5) ?? "",
                    action: action,
                    attempt: previousAttempts + 1,
                    body: select.bytes(at: 6),
                    receivedAt: select.int64(at: 7)
                )
                job.isReplay = select.int64(at: 9) != 0
                job.isOutOfOrder = select.int64(at: 10) != 0
                queue.append(ClaimedRow(job: job, leaseExpired: leaseExpired))
            }
            if !queue.isEmpty { queues.append(queue) }
        }
        claimTurn &+= 1
        let first = queues.isEmpty ? 0 : claimTurn % queues.count
        let rows = Self.takeInTurn(from: Array(queues[first...] + queues[..<first]), limit: request.limit)
        for delivery in poisoned {
            let mark = statements.markPoisoned
            defer { mark.reset() }
            try mark.bind(delivery.error, at: 1)
            try mark.bind(request.now, at: 2)
            try mark.bind(delivery.id.rawValue, at: 3)
            try mark.step()
            try insertAttempt(
                AttemptRecord(
                    delivery: delivery.id,
                    attempt: delivery.attempts,
                    startedAt: request.now,
                    durationMilliseconds: 0,
                    outcome: .dead(error: delivery.error)
                ),
                using: statements
            )
        }
        let mark = statements.markRunning
        for row in rows {
            if row.leaseExpired {
                // The unfinished attempt is recorded as a failed one.
                try insertAttempt(
                    AttemptRecord(
                        delivery: row.job.id,
                        attempt: row.job.attempt - 1,
                        startedAt: request.now,
                        durationMilliseconds: 0,
                        outcome: .retry(
                            error: "attempt did not finish: its lease expired", nextAttemptAt: request.now)
                    ),
                    using: statements
                )
            }
            defer { mark.reset() }
            try mark.bind(request.now + request.leaseMilliseconds, at: 1)
            try mark.bind(request.now, at: 2)
            try mark.bind(row.leaseExpired ? 1 : 0, at: 3)
            try mark.bind(row.job.id.rawValue, at: 4)
            try mark.bind(row.job.isOutOfOrder ? 1 : 0, at: 5)
            try mark.step()
        }
        // After marking, so the claimed deliveries count with their lease's end.
        var nextDueAt: Int64?
        for action in request.actions.keys where !paused.contains(action) {
            if let due = try earliestDue(of: action, using: statements) { nextDueAt = min(due, nextDueAt ?? due) }
        }
        var claim = Claim(jobs: rows.map(\.job), nextDueAt: nextDueAt)
        claim.poisoned = poisoned
        claim.paused = paused
        return claim
    }

    /// The earliest `next_attempt_at` of `action`'s unfinished deliveries; nil when there is none.
    private func earliestDue(of action: String, using statements: Statements) throws(SQLiteError) -> Int64? {
        let nextDue = statements.nextDue
        defer { nextDue.reset() }
        try nextDue.bind(action, at: 1)
        return try nextDue.step() ? nextDue.int64(at: 0) : nil
    }

    /// A due delivery a claim found, and whether it was found running under an expired lease.
    struct ClaimedRow {
        let job: DeliveryJob
        let leaseExpired: Bool
    }

    /// Up to `limit` rows, one from each queue in turn, in the order given (each queue oldest first).
    static func takeInTurn(from queues: [[ClaimedRow]], limit: Int) -> [ClaimedRow] {
        var queues = queues.map { $0[...] }
        var rows: [ClaimedRow] = []
        while rows.count < limit {
            var tookAny = false
            for index in queues.indices where rows.count < limit {
                if let row = queues[index].popFirst() {
                    rows.append(row)
                    tookAny = true
                }
            }
            if !tookAny { break }
        }
        return rows
    }

    /// The monitor's counts.
    private func stats(using statements: Statements) throws(SQLiteError) -> StoreStats {
        var stats = StoreStats()
        let events = statements.countEvents
        defer { events.reset() }
        if try events.step() { stats.eventsReceived = events.int64(at: 0) }
        let pending = statements.countPending
        defer { pending.reset() }
        if try pending.step() {
            stats.pendingDeliveries = Int(pending.int64(at: 0))
            stats.oldestPendingCreatedAt = stats.pendingDeliveries > 0 ? pending.int64(at: 1) : nil
        }
        let dead = statements.countDead
        defer { dead.reset() }
        if try dead.step() { stats.deadDeliveries = Int(dead.int64(at: 0)) }
        let actions = statements.queuedActions
        defer { actions.reset() }
        while try actions.step() {
            if let action = actions.text(at: 0) { stats.queuedActions.append(action) }
        }
        return stats
    }

    /// Records an attempt's end; a report for an attempt that no longer holds the lease is ignored.
    private func finish(_ record: AttemptRecord, using statements: Statements) throws(SQLiteError) {
        let now = unixMilliseconds()
        let status: DeliveryStatus
        var nextAttemptAt: Int64 = 0
        switch record.outcome {
        case .released:
            let release = statements.release
            defer { release.reset() }
            try release.bind(now, at: 1)
            try release.bind(now, at: 2)
            try release.bind(record.delivery.rawValue, at: 3)
            try release.bind(Int64(record.attempt), at: 4)
            try release.step()
            return
        case .succeeded: status = .succeeded
        case .retry(_, let next):
            status = .failed
            nextAttemptAt = next
        case .dead: status = .dead
        case .skipped: status = .skipped
        }
        let finish = statements.finish
        defer { finish.reset() }
        try finish.bind(status.rawValue, at: 1)
        try finish.bind(nextAttemptAt, at: 2)
        try finish.bind(record.outcome.error, at: 3)
        try finish.bind(now, at: 4)
        try finish.bind(record.delivery.rawValue, at: 5)
        try finish.bind(Int64(record.attempt), at: 6)
        try finish.step()
        guard statements.connection.changes == 1 else {
            logger.warning(
                "Ignored the result of an attempt that had lost its lease",
                metadata: [LogKey.deliveryID: "\(record.delivery)", LogKey.attempt: "\(record.attempt)"]
            )
            return
        }
        try insertAttempt(record, using: statements)
    }

    private func insertAttempt(_ record: AttemptRecord, using statements: Statements) throws(SQLiteError) {
        let insert = statements.insertAttempt
        defer { insert.reset() }
        try insert.bind(record.delivery.rawValue, at: 1)
        try insert.bind(Int64(record.attempt), at: 2)
        try insert.bind(record.startedAt, at: 3)
        try insert.bind(record.durationMilliseconds, at: 4)
        try insert.bind(record.outcome.label, at: 5)
        try insert.bind(record.outcome.error, at: 6)
        try insert.bind(record.output, at: 7)
        try insert.step()
    }

    private static func run(_ statement: SQLiteStatement) throws(SQLiteError) {
        defer { statement.reset() }
        try statement.step()
    }

    /// Finalizes the statements and closes the connection (SQLite checkpoints the WAL on the last close).
    func close() {
        statements = nil
    }
}
