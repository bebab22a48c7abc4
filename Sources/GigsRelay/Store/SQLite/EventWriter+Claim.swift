import Foundation
import Logging

/// The claim: due deliveries of each action, taken in turn, leased to the caller.
extension EventWriter {
    /// Picks due deliveries (including running ones whose lease expired) of the requested actions, each
    /// within its room, taking the actions in turn (oldest due first within each, a different action first
    /// at each claim) so that one action's backlog cannot crowd out another's; marks them running under a
    /// new lease.
    ///
    /// An expired lease means an attempt started and never finished: the process died or hung during it.
    /// That attempt counts. A delivery whose expired attempt was its last allowed one becomes `dead`
    /// ("attempt did not finish: lease expired N times") instead of being run again, so a delivery that
    /// crashes the daemon costs at most `max_attempts` restarts.
    func claim(_ request: ClaimRequest, using statements: Statements) throws(SQLiteError) -> Claim {
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
                    OrderingSQL.park(actions: [action], until: until, now: request.now, .sqlite)
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
                job.traceContext = TraceContext(stored: select.text(at: 11))
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
                        outcome: .retry(error: AttemptSQL.unfinished, nextAttemptAt: request.now)
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
}
