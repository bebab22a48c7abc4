import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// What operators read and change: `gigs-relay events`, `deliveries`, `actions`, `replay`, the API and the
/// console.
extension PostgresStore {
    public func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent] {
        try await readEvents(PostgresQuery(ListingSQL.events(filter, bytewiseID: #"(id COLLATE "C")"#, .postgres)))
    }

    public func event(id: EventID) async throws(StoreError) -> StoredEvent? {
        try await readEvents(
            PostgresQuery(
                unsafeSQL: "SELECT \(ListingSQL.eventColumns(body: true, .postgres)) FROM events WHERE id = $1",
                binds: Self.binds(id.rawValue.postgresText))
        ).first?.opened(by: sealer)
    }

    public func eventCount() async throws(StoreError) -> Int {
        try await read { client, logger in
            var count = 0
            for try await value in try await client.query("SELECT count(*) FROM events", logger: logger).decode(
                Int64.self)
            {
                count = Int(clamping: value)
            }
            return count
        }
    }

    public func deliveries(_ filter: DeliveryFilter) async throws(StoreError) -> [StoredDelivery] {
        let query = PostgresQuery(ListingSQL.deliveries(filter, .postgres))
        let sealer = sealer
        return try await read { client, logger in
            var deliveries: [StoredDelivery] = []
            let rows = try await client.query(query, logger: logger).decode(
                (Int64, String, String, String, String, Int64, String?, Int64, Int64, Int64, Int64, String?, Int64).self
            )
            for try await (
                id, event, type, action, status, attempts, error, next, replay, created, updated, subject, late
            )
                in rows
            {
                let row = ListedDelivery(
                    id: id, eventID: event, eventType: type, action: action, status: status, attempts: attempts,
                    lastError: error, nextAttemptAt: next, replay: replay, createdAt: created, updatedAt: updated,
                    subject: subject, outOfOrder: late)
                deliveries.append(row.delivery(opening: sealer))
            }
            return deliveries
        }
    }

    public func attempts(of delivery: DeliveryID) async throws(StoreError) -> [StoredAttempt] {
        let sealer = sealer
        return try await read { client, logger in
            var attempts: [StoredAttempt] = []
            let rows = try await client.query(
                PostgresQuery(unsafeSQL: ListingSQL.attempts, binds: Self.binds(delivery.rawValue)), logger: logger
            ).decode((Int64, Int64, Int64, String, String?, String?).self)
            for try await (number, started, duration, outcome, error, output) in rows {
                attempts.append(
                    StoredAttempt(
                        number: Int(clamping: number), startedAt: Date(unixMilliseconds: started),
                        durationMilliseconds: duration,
                        outcome: outcome, error: error, output: output
                    ).opened(by: sealer, of: delivery))
            }
            return attempts
        }
    }

    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read { client, logger in
            var names: [String] = []
            for try await name in try await client.query(
                "SELECT name FROM schema_migrations ORDER BY name", logger: logger
            ).decode(String.self) {
                names.append(name)
            }
            return names
        }
    }

    public func deadDeliveries() async throws(StoreError) -> [DeliveryID] {
        try await read { client, logger in
            var ids: [DeliveryID] = []
            for try await id in try await client.query(
                "SELECT id FROM deliveries WHERE status = \(unescaped: DeliveryStatus.dead.sql) ORDER BY id",
                logger: logger
            ).decode(Int64.self) {
                ids.append(DeliveryID(id))
            }
            return ids
        }
    }

    public func retry(_ ids: [DeliveryID], dryRun: Bool) async throws(StoreError) -> [DeliveryID] {
        try await move(ids, .retry, dryRun: dryRun)
    }

    public func skip(_ ids: [DeliveryID], dryRun: Bool) async throws(StoreError) -> [DeliveryID] {
        try await move(ids, .skip, dryRun: dryRun)
    }

    /// Applies an operator's change to each delivery it fits, in batches, and makes the parked deliveries
    /// of the changed ones' subjects due again; a dry run only reads.
    private func move(_ ids: [DeliveryID], _ move: DeliveryMove, dryRun: Bool) async throws(StoreError)
        -> [DeliveryID]
    {
        var moved: [DeliveryID] = []
        for start in stride(from: 0, to: ids.count, by: StoreMaintenance.batchSize) {
            let batch = ids[start..<min(start + StoreMaintenance.batchSize, ids.count)].map(\.rawValue)
            let now = clock.now
            let query = PostgresQuery(dryRun ? move.select(batch, .postgres) : move.update(batch, now: now, .postgres))
            let changed = Set(
                try await write { client in
                    try await client.query(query, logger: self.logger).decode(Int64.self).collect()
                })
            moved += batch.filter(changed.contains).map(DeliveryID.init)
            if !dryRun { try await unparkSubjects(of: Array(changed), at: now) }
        }
        return moved
    }

    /// Makes the parked deliveries of these deliveries' subjects due again.
    private func unparkSubjects(of ids: [Int64], at now: Int64) async throws(StoreError) {
        guard !ids.isEmpty else { return }
        let query = PostgresQuery(OrderingSQL.unpark(subjectsOf: ids, now: now, .postgres))
        let logger = logger
        _ = try await write { client in try await client.query(query, logger: logger) }
    }

    public func setPaused(_ action: String, _ paused: Bool) async throws(StoreError) -> Bool {
        // An upsert whose update its WHERE skips returns no row.
        let query =
            paused
            ? PostgresQuery(
                unsafeSQL: ActionStateSQL.pause + " RETURNING action",
                binds: Self.binds(action.postgresText, clock.now))
            : PostgresQuery(
                unsafeSQL: ActionStateSQL.resume + " RETURNING action", binds: Self.binds(action.postgresText))
        let logger = logger
        return try await write { client in
            try await !client.query(query, logger: logger).decode(String.self).collect().isEmpty
        }
    }

    public func actionSummaries() async throws(StoreError) -> [ActionSummary] {
        let sealer = sealer
        return try await read { client, logger in
            var summaries: [String: ActionSummary] = [:]
            for try await (action, pausedAt, circuit, since, error) in try await client.query(
                PostgresQuery(unsafeSQL: ActionStateSQL.states), logger: logger
            ).decode((String, Int64?, String, Int64?, String?).self) {
                var summary = ActionSummary(action: action)
                summary.pausedAt = pausedAt
                summary.circuit = CircuitState(rawValue: circuit) ?? .closed
                summary.circuitSince = since
                summary.circuitError = error
                summaries[action] = summary
            }
            for try await (action, status, count) in try await client.query(
                PostgresQuery(unsafeSQL: ActionStateSQL.counts), logger: logger
            ).decode((String, String, Int64).self) {
                summaries[action, default: ActionSummary(action: action)].add(Int(clamping: count), status: status)
            }
            for action in summaries.keys {
                for try await error in try await client.query(
                    PostgresQuery(unsafeSQL: ActionStateSQL.lastError, binds: Self.binds(action.postgresText)),
                    logger: logger
                ).decode((Int64, String?).self) {
                    summaries[action]?.lastError = sealer.open(text: error.1, for: .delivery(DeliveryID(error.0)))
                }
            }
            return summaries.keys.sorted().compactMap { summaries[$0] }
        }
    }

    public func blockers(of deliveries: [DeliveryID]) async throws(StoreError) -> [DeliveryID: DeliveryID] {
        try await read { client, logger in
            var blockers: [DeliveryID: DeliveryID] = [:]
            for id in deliveries {
                for try await blocker in try await client.query(
                    PostgresQuery(unsafeSQL: OrderingSQL.blocker, binds: Self.binds(id.rawValue)), logger: logger
                ).decode(Int64.self) {
                    blockers[id] = DeliveryID(blocker)
                }
            }
            return blockers
        }
    }

    public func blockedSubjects(actions: [String]) async throws(StoreError) -> BlockedSubjects {
        guard !actions.isEmpty else { return BlockedSubjects() }
        let query = PostgresQuery(
            OrderingSQL.blocked(actions: actions, .postgres))
        return try await read { client, logger in
            var blocked = BlockedSubjects()
            for try await (count, oldest) in try await client.query(query, logger: logger).decode((Int64, Int64?).self)
            {
                blocked = BlockedSubjects(count: Int(clamping: count), oldestSince: oldest)
            }
            return blocked
        }
    }

    public func recordCircuit(_ change: CircuitChange) async throws(StoreError) {
        var binds = Self.binds(change.action.postgresText, change.state.rawValue, change.at)
        if let error = change.error { binds.append(error.postgresText) } else { binds.appendNull() }
        let query = PostgresQuery(unsafeSQL: ActionStateSQL.recordCircuit, binds: binds)
        let logger = logger
        _ = try await write { client in try await client.query(query, logger: logger) }
    }

    public func replayCandidates(ids: [EventID]) async throws(StoreError) -> [ReplayCandidate] {
        let texts = ids.map { $0.rawValue.postgresText }
        let found = try await candidates("SELECT seq, id, type, body FROM events WHERE id = ANY(\(texts))")
        // In the order asked, as the SQLite store answers.
        let byID = Dictionary(found.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        return ids.compactMap { byID[$0] }
    }

    public func replayCandidates(type: String, since: Date, until: Date?) async throws(StoreError)
        -> [ReplayCandidate]
    {
        let from = unixMilliseconds(since)
        let to = until.map { unixMilliseconds($0) } ?? .max
        return try await candidates(
            """
            SELECT seq, id, type, body FROM events
            WHERE type = \(type.postgresText) AND received_at >= \(from) AND received_at < \(to) ORDER BY seq
            """)
    }

    public func appendStandIns(_ events: [(event: VerifiedEvent, deliveries: [NewDelivery])]) async throws(StoreError)
        -> [Bool]
    {
        var stored: [Bool] = []
        let sealer = sealer
        for start in stride(from: 0, to: events.count, by: StoreMaintenance.batchSize) {
            let batch = events[start..<min(start + StoreMaintenance.batchSize, events.count)].map {
                (event: $0.event.sealed(by: sealer), deliveries: $0.deliveries)
            }
            let logger = logger
            let (inserted, pending) = try await write { client in
                try await client.withTransaction(logger: logger) { connection in
                    // Appends wait while this holds (ROW EXCLUSIVE conflicts with it), so the genuine event
                    // stored since the run looked is seen here, and one stored after sees the stand-in
                    // and is dispatched nowhere. Held for this batch's few statements only.
                    try await connection.query("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE", logger: logger)
                    let asked = batch.filter { $0.event.subject != nil && $0.event.resource != nil }
                    var genuine: Set<String> = []
                    if !asked.isEmpty {
                        let query = PostgresQuery(
                            unsafeSQL: StandInSQL.genuineCandidatesOfBatch,
                            binds: Self.binds(
                                asked.map { ($0.event.subject ?? "").postgresText },
                                asked.map { $0.event.type.postgresText }))
                        // A stored event of a stand-in's type and subject stands for the stand-in whose
                        // resource is its data.id: keyed by type and resource.
                        for try await (id, body, _, type) in try await connection.query(query, logger: logger).decode(
                            (String, ByteBuffer, String, String).self)
                        {
                            let id = EventID(id)
                            let opened = (try? sealer.open(Array(body.readableBytesView), for: .event(id))) ?? []
                            if let resource = StandIn.genuineResource(id: id, body: opened) {
                                genuine.insert("\(type)\n\(resource)")
                            }
                        }
                    }
                    // Never a stand-in of a user whose events were erased.
                    let users = batch.compactMap { $0.event.user?.postgresText }
                    var erased: Set<String> = []
                    if !users.isEmpty {
                        for try await user in try await connection.query(
                            "SELECT DISTINCT user_id FROM events WHERE user_id = ANY(\(users)) AND erased_at IS NOT NULL",
                            logger: logger
                        ).decode(String.self) {
                            erased.insert(user)
                        }
                    }
                    let absent = batch.filter { entry in
                        !(entry.event.user.map(erased.contains) ?? false)
                            && (entry.event.resource.map { !genuine.contains("\(entry.event.type)\n\($0)") } ?? true)
                    }
                    var inserted: Set<String> = []
                    var pending: Int64 = 0
                    guard !absent.isEmpty else { return (inserted, pending) }
                    // The append's own statement, with every delivery pending: nothing is leased from here.
                    let statement = InsertEvents(absent, leases: absent.map { $0.deliveries.map { _ in nil } })
                    for try await (id, _, queued, _, _) in try await connection.execute(statement, logger: logger) {
                        inserted.insert(id)
                        pending = queued
                    }
                    return (inserted, pending)
                }
            }
            stored += batch.map { inserted.contains($0.event.id.rawValue.postgresText) }
            if pending > 0 { notifyOtherInstances() }
        }
        return stored
    }

    public func replay(_ plan: [ReplayStep]) async throws(StoreError) -> [DeliveryID?] {
        var created: [DeliveryID?] = []
        for start in stride(from: 0, to: plan.count, by: StoreMaintenance.batchSize) {
            let batch = Array(plan[start..<min(start + StoreMaintenance.batchSize, plan.count)])
            let sequences = batch.map(\.sequence)
            let actions = batch.map { $0.action.postgresText }
            let now = clock.now
            // Each insert checks that its event is still stored (retention may have removed it since the
            // plan was made), so no delivery is ever left without its event.
            let rows = try await write { client in
                try await client.query(
                    """
                    INSERT INTO deliveries (event_seq, action, status, next_attempt_at, replay, created_at, updated_at)
                    SELECT p.seq, p.action, \(unescaped: DeliveryStatus.pending.sql), \(now), 1, \(now), \(now)
                    FROM unnest(\(sequences)::int8[], \(actions)::text[]) WITH ORDINALITY AS p(seq, action, step)
                    WHERE EXISTS (SELECT 1 FROM events WHERE seq = p.seq)
                    ORDER BY p.step
                    RETURNING id, event_seq, action
                    """, logger: self.logger
                ).decode((Int64, Int64, String).self).collect()
            }
            var byStep: [String: [Int64]] = [:]
            for (id, sequence, action) in rows { byStep["\(sequence) \(action)", default: []].append(id) }
            for step in batch {
                let key = "\(step.sequence) \(step.action.postgresText)"
                if var ids = byStep[key], !ids.isEmpty {
                    created.append(DeliveryID(ids.removeFirst()))
                    byStep[key] = ids
                } else {
                    created.append(nil)
                }
            }
        }
        return created
    }

    private func readEvents(_ query: PostgresQuery) async throws(StoreError) -> [StoredEvent] {
        try await read { client, logger in
            var events: [StoredEvent] = []
            let rows = try await client.query(query, logger: logger).decode(
                (
                    Int64, String, String, String?, String?, Int64, String, Int64, ByteBuffer, String?, String?, Int64?,
                    String?
                ).self)
            for try await (
                seq, id, type, project, time, received, message, timestamp, body, subject, user, erased, trace
            )
                in rows
            {
                var event = StoredEvent(
                    sequence: seq, id: EventID(id), type: type, project: project, time: time,
                    receivedAt: Date(unixMilliseconds: received), messageID: message, webhookTimestamp: timestamp,
                    body: Array(body.readableBytesView))
                event.subject = subject
                event.user = user
                event.erasedAt = erased.map { Date(unixMilliseconds: $0) }
                event.traceContext = TraceContext(stored: trace)
                events.append(event)
            }
            return events
        }
    }

    private func candidates(_ query: PostgresQuery) async throws(StoreError) -> [ReplayCandidate] {
        let sealer = sealer
        let found = try await read { client, logger in
            var found: [ReplayCandidate] = []
            for try await (seq, id, type, body) in try await client.query(query, logger: logger).decode(
                (Int64, String, String, ByteBuffer).self)
            {
                found.append(
                    ReplayCandidate(sequence: seq, id: EventID(id), type: type, body: Array(body.readableBytesView)))
            }
            return found
        }
        return try found.map { (candidate) throws(StoreError) in try candidate.opened(by: sealer) }
    }
}
