import Foundation
import Logging

/// The writer thread's connection and prepared statements: every write of the process goes through it.
final class EventWriter: @unchecked Sendable {
    // Safe because after `init` only the store's writer thread uses it.

    var statements: Statements?
    /// Which action's queue a claim takes from first; advances every claim, so no action is always first.
    var claimTurn = 0
    let logger: Logger
    let health: StoreHealth
    /// The time leases, releases and finishes are stamped with.
    let clock: any RelayClock
    /// This instance's dispatcher: new deliveries it has room for are leased to it in their append.
    private let handOff: DeliveryHandOff
    /// The actions an operator paused, read once per batch that leases a delivery (nil: not read yet).
    private var pausedInBatch: Set<String>?
    /// How the next commit reaches the disk, and when a commit last waited for the disk (Unix ms).
    private var synchronous = CommitDurability.full
    private var lastFlushAt: Int64 = 0
    /// Commits by durability, and whether one since the last flush did not wait for the disk.
    let commits = CommitCounts()
    /// Whether a commit since the last flush did not wait for the disk (and changed something).
    var unflushed: Bool { commits.unflushed }

    init(
        connection: SQLiteConnection,
        logger: Logger,
        health: StoreHealth,
        clock: any RelayClock,
        handOff: DeliveryHandOff
    ) throws(SQLiteError) {
        self.logger = logger
        self.health = health
        self.clock = clock
        self.handOff = handOff
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
        // New deliveries leased to the dispatcher, and whether others were queued pending.
        var handedOver: [DeliveryJob] = []
        var queuedDeliveries = false
        pausedInBatch = nil
        // Events or the disk probe: what health reports as writes reaching the disk, and what waits for it.
        let wroteData = batch.contains { $0.storesData }
        // Traced appends learn how many events their commit held.
        var appends = 0
        var probes: [GroupCommitProbe] = []
        do {
            let durability = durability(storingData: wroteData)
            if durability != synchronous {
                try statements.connection.execute("PRAGMA synchronous = \(durability.rawValue)")
                synchronous = durability
            }
            let changesBefore = statements.connection.totalChanges
            try Self.run(statements.begin)
            for operation in batch {
                switch operation {
                case .append(let event, let deliveries, let reply):
                    let result = try append(
                        event, deliveries: deliveries, handedOver: &handedOver, queued: &queuedDeliveries,
                        using: statements)
                    appends += 1
                    if let probe = event.groupCommit { probes.append(probe) }
                    replies.append { reply.resume(returning: .success(result)) }
                case .claim(let request, let reply):
                    let claim = try claim(request, using: statements)
                    replies.append { reply.resume(returning: .success(claim)) }
                case .finish(let record, let reply):
                    let applied = try finish(record, using: statements)
                    replies.append { reply.resume(returning: .success(applied)) }
                case .stats(let probeBytes, let reply):
                    if let probeBytes {
                        // As large as the largest event: a full disk may still take a small write.
                        let probe = try statements.connection.prepare(
                            "INSERT OR REPLACE INTO store_probe (id, filler) VALUES (1, zeroblob(?))")
                        try probe.bind(Int64(probeBytes), at: 1)
                        try probe.step()
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
                        let counted = try statements.connection.rows(OrderingSQL.blocked(actions: actions, .sqlite)) {
                            row in
                            BlockedSubjects(
                                count: Int(clamping: row.int64(at: 0)), oldestSince: row.optionalInt64(at: 1))
                        }
                        blocked = counted.first ?? blocked
                    }
                    replies.append { reply.resume(returning: .success(blocked)) }
                }
            }
            try Self.run(statements.commit)
            if durability == .full { lastFlushAt = clock.now }
            // A claim that found nothing wrote nothing: nothing to flush for it.
            commits.count(
                durability,
                unflushed: durability == .normal && (unflushed || statements.connection.totalChanges != changesBefore))
        } catch {
            if !statements.connection.isAutocommit { try? statements.connection.execute("ROLLBACK") }
            logger.error(
                "Event store write failed",
                metadata: [LogKey.error: "\(error)", LogKey.storeBatch: "\(batch.count)"]
            )
            health.recordFailure(error)
            for job in handedOver { handOff.cancel(job.action) }
            for operation in batch { operation.fail(.unavailable(error)) }
            return
        }
        if wroteData { health.recordWrite() }
        for probe in probes { probe.committed(with: appends) }
        logger.trace("Committed batch", metadata: [LogKey.storeBatch: "\(batch.count)"])
        for reply in replies { reply() }
        handOff.committed(handedOver: handedOver, queued: queuedDeliveries)
    }

    /// `FULL` (the commit waits until the WAL reaches the disk) for a batch that stores events or probes
    /// the disk, and at least every ``CommitDurability/flushEvery`` milliseconds; `NORMAL` for a batch of
    /// claims and attempt results otherwise.
    ///
    /// A `NORMAL` commit is in the operating system's cache at once, so a crash or `kill -9` of the
    /// daemon loses nothing; it reaches the disk with the next `FULL` commit (whose flush covers the
    /// whole WAL before it) or, when nothing else comes, the idle writer's ``flush()``. Only a power loss
    /// or kernel crash can lose it, and then about the last ``CommitDurability/flushEvery`` milliseconds
    /// of claims and results: those deliveries run again (at least once), and no event is lost, since
    /// every append waits for the disk.
    private func durability(storingData: Bool) -> CommitDurability {
        storingData || clock.now - lastFlushAt >= CommitDurability.flushEvery ? .full : .normal
    }

    /// Brings what `NORMAL` commits wrote to the disk when the writer has nothing else to do: a passive
    /// checkpoint flushes the WAL first (and then copies what it can into the database file).
    ///
    /// SQLite skips that flush when a reader's older snapshot lets it copy nothing, so the WAL counts as
    /// flushed only once every frame in it was checkpointed; otherwise the writer tries again after the
    /// next idle wait.
    func flush() {
        guard unflushed, let statements else { return }
        do {
            let result = try statements.connection.rows("PRAGMA wal_checkpoint(PASSIVE)", []) {
                (frames: $0.int64(at: 1), checkpointed: $0.int64(at: 2))
            }
            guard let result = result.first, result.checkpointed >= result.frames else { return }
            lastFlushAt = clock.now
            commits.countFlush()
        } catch {
            // The next commit that waits for the disk flushes it; the WAL is intact either way.
            logger.debug("Cannot flush the store's WAL", metadata: [LogKey.error: "\(error)"])
        }
    }

    /// Inserts the event and, when it is new, its deliveries: leased to the dispatcher (appended to
    /// `handedOver`) when it offers room for them and they are due at once, else pending (`queued`).
    private func append(
        _ event: VerifiedEvent,
        deliveries: [NewDelivery],
        handedOver: inout [DeliveryJob],
        queued: inout Bool,
        using statements: Statements
    ) throws(SQLiteError) -> AppendResult {
        try statements.insertEvent.insertEvent(event)
        guard statements.connection.changes == 1 else { return .duplicate }
        let sequence = statements.connection.lastInsertedRowID
        // Its reconciled stand-in was stored first and dispatched: this one is kept, not dispatched again.
        if let standIn = event.standIn, try isStored(standIn, using: statements) { return .accepted }
        let orderAt = deliveries.contains { $0.subject != nil } ? event.orderAt : event.receivedAt
        let now = clock.now
        for delivery in deliveries {
            let leasedUntil = try lease(delivery, now: now, using: statements)
            do throws(SQLiteError) {
                try statements.insertDelivery.insertDelivery(
                    eventSequence: sequence,
                    action: delivery.action,
                    at: event.receivedAt,
                    replay: false,
                    dueAt: delivery.dueAt,
                    subject: delivery.subject,
                    orderAt: orderAt,
                    leasedUntil: leasedUntil
                )
            } catch {
                if leasedUntil != nil { handOff.cancel(delivery.action) }
                throw error
            }
            guard leasedUntil != nil else {
                queued = true
                continue
            }
            var job = DeliveryJob(
                id: DeliveryID(statements.connection.lastInsertedRowID), eventID: event.id, eventType: event.type,
                action: delivery.action, attempt: 1, body: event.body, receivedAt: event.receivedAt)
            job.traceContext = event.traceContext
            handedOver.append(job)
        }
        return .accepted
    }

    /// Whether an event with this id is stored.
    private func isStored(_ id: EventID, using statements: Statements) throws(SQLiteError) -> Bool {
        let select = statements.eventStored
        defer { select.reset() }
        try select.bind(id.rawValue, at: 1)
        return try select.step()
    }

    /// When the lease of a new delivery ends if the dispatcher takes it at once (``DeliveryHandOff``): it
    /// offers room for it and its action is not paused.
    private func lease(
        _ delivery: NewDelivery, now: Int64, using statements: Statements
    ) throws(SQLiteError) -> Int64? {
        guard handOff.isOffering(delivery, now: now) else { return nil }
        if pausedInBatch == nil {
            // Paused since the dispatcher's last claim (by the CLI, say): it waits like any other.
            var paused: Set<String> = []
            let select = statements.selectPaused
            defer { select.reset() }
            while try select.step() {
                if let action = select.text(at: 0) { paused.insert(action) }
            }
            pausedInBatch = paused
        }
        guard pausedInBatch?.contains(delivery.action) == false else { return nil }
        return handOff.lease(delivery, now: now)
    }

    /// A due delivery a claim found, and whether it was found running under an expired lease.
    struct ClaimedRow {
        let job: DeliveryJob
        let leaseExpired: Bool
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

    /// Records an attempt's end; a report for an attempt that no longer holds the lease changes nothing
    /// and returns false.
    private func finish(_ record: AttemptRecord, using statements: Statements) throws(SQLiteError) -> Bool {
        let now = clock.now
        if record.outcome == .released {
            let release = statements.release
            defer { release.reset() }
            try release.bind(now, at: 1)
            try release.bind(record.delivery.rawValue, at: 2)
            try release.bind(Int64(record.attempt), at: 3)
            return try release.step()
        }
        let finish = statements.finish
        defer { finish.reset() }
        try finish.bind(record.outcome.status.rawValue, at: 1)
        try finish.bind(record.outcome.nextAttemptAt, at: 2)
        try finish.bind(record.outcome.error, at: 3)
        try finish.bind(now, at: 4)
        try finish.bind(record.delivery.rawValue, at: 5)
        try finish.bind(Int64(record.attempt), at: 6)
        try finish.step()
        guard statements.connection.changes == 1 else { return false }
        try insertAttempt(record, using: statements)
        return true
    }

    func insertAttempt(_ record: AttemptRecord, using statements: Statements) throws(SQLiteError) {
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

    static func run(_ statement: SQLiteStatement) throws(SQLiteError) {
        defer { statement.reset() }
        try statement.step()
    }

    /// Finalizes the statements and closes the connection (SQLite checkpoints the WAL on the last close).
    func close() {
        statements = nil
    }
}
