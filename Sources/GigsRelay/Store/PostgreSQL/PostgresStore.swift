import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import PostgresNIO

/// The event log on PostgreSQL, for several gigs-relay instances sharing one database.
///
/// - Appends are group-committed (``Batcher``): concurrent requests share one statement (``InsertEvents``:
///   a multi-row `INSERT … ON CONFLICT DO NOTHING` with the new events' deliveries), committed with the
///   server's `synchronous_commit = on` before any caller is answered. The unique event id is the
///   database's, so a duplicate that reaches another instance is a duplicate. Attempt results are
///   batched the same way (``FinishAttempts``).
/// - A claim is one statement (``ClaimDue``): it locks due deliveries with `FOR UPDATE SKIP LOCKED`, so
///   instances never claim the same one, and marks them `running` under a lease; a killed instance's
///   deliveries are taken over once their lease expires, exactly as on SQLite.
/// - Every call has a deadline (``deadline``): while the database is unreachable or restarting, calls
///   fail fast with `store_unavailable` (ingest answers 503, the dispatcher waits) and the pool
///   reconnects by itself.
public final class PostgresStore: EventLog, StoreConsole {
    /// How long one store call may take before its caller is told the store is unavailable.
    static let deadline: Duration = .seconds(5)

    public let health = StoreHealth()
    /// Where the database is (no password in it).
    public let url: PostgresURL
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let onDeliveriesCreated: @Sendable () -> Void
    private let claimTurn = NIOLockedValueBox(0)
    private let appends: NIOLockedValueBox<Batcher<(event: VerifiedEvent, deliveries: [NewDelivery]), AppendResult>?> =
        NIOLockedValueBox(nil)
    private let finishes: NIOLockedValueBox<Batcher<AttemptRecord, Bool>?> = NIOLockedValueBox(nil)
    private let listener: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    /// Whether a wake-up notification is being sent, and whether another is wanted after it.
    private let notifying = NIOLockedValueBox((sending: false, again: false))

    /// The `LISTEN/NOTIFY` channel a commit that created deliveries notifies, after it commits: a hint
    /// that wakes every instance's dispatcher at once. Polling stays the backstop.
    static let wakeupChannel = "gigs_relay_deliveries"

    private init(
        url: PostgresURL,
        client: PostgresClient,
        runner: Task<Void, Never>,
        logger: Logger,
        poolSize: Int,
        onDeliveriesCreated: @escaping @Sendable () -> Void
    ) {
        self.url = url
        self.client = client
        self.runner = runner
        self.logger = logger
        self.onDeliveriesCreated = onDeliveriesCreated
        // Two statements in flight: one commits while the next batch gathers. More split the same
        // requests into smaller batches and cost more CPU per event (measured: 2 beat 4 by a third).
        let committers = 2
        appends.withLockedValue {
            $0 = Batcher(committers: committers, deadline: Self.deadline) { [weak self] (batch) throws(StoreError) in
                guard let self else { throw .closed }
                return try await self.commitAppends(batch)
            }
        }
        finishes.withLockedValue {
            $0 = Batcher(committers: committers, deadline: Self.deadline) { [weak self] (batch) throws(StoreError) in
                guard let self else { throw .closed }
                return try await self.commitFinishes(batch)
            }
        }
    }

    /// Connects, migrates (once across instances, under an advisory lock) and returns the open store; with
    /// `listen`, also listens for other instances' new deliveries (``wakeupChannel``).
    public static func open(
        url: PostgresURL,
        password: String?,
        poolSize: Int,
        logger: Logger,
        listen: Bool = false,
        onDeliveriesCreated: @escaping @Sendable () -> Void = {}
    ) async throws(StoreError) -> PostgresStore {
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .notice)
        do {
            let probe = try await PostgresConnection.connect(
                configuration: try .relay(url: url, password: password), id: 0, logger: backgroundLogger)
            var synchronousCommit = "on"
            for try await value in try await probe.query("SHOW synchronous_commit", logger: backgroundLogger)
                .decode(String.self)
            {
                synchronousCommit = value
            }
            try? await probe.close()
            if synchronousCommit == "off" {
                logger.warning(
                    "PostgreSQL has synchronous_commit = off: events answered 2xx may be lost if the server crashes",
                    metadata: [LogKey.storePath: "\(url)"])
            }
        } catch {
            throw .openFailed(location: url.description, detail: PostgresErrors.describe(error))
        }
        let configuration = PostgresClient.Configuration.relay(url: url, password: password, poolSize: poolSize)
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let runner = Task { await client.run() }
        do {
            try await withDeadline(.seconds(60)) { try await PostgresSchema.migrate(client, logger: logger) }
        } catch {
            runner.cancel()
            throw .openFailed(location: url.description, detail: error.detail)
        }
        let store = PostgresStore(
            url: url, client: client, runner: runner, logger: logger, poolSize: poolSize,
            onDeliveriesCreated: onDeliveriesCreated)
        if listen {
            store.listener.withLockedValue { $0 = Task { await store.listenForDeliveries() } }
        }
        return store
    }

    /// Holds one pooled connection listening on ``wakeupChannel`` and wakes the dispatcher for every
    /// notification (other instances' new deliveries); after a lost connection it listens again.
    private func listenForDeliveries() async {
        let onDeliveriesCreated = onDeliveriesCreated
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.wakeupChannel) { notifications in
                        for try await _ in notifications { onDeliveriesCreated() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug(
                    "Listening for new deliveries failed", metadata: [LogKey.error: "\(PostgresErrors.describe(error))"]
                )
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    // MARK: - EventLog

    public func append(_ event: VerifiedEvent, deliveries: [NewDelivery]) async throws(StoreError) -> AppendResult {
        guard let batcher = appends.withLockedValue({ $0 }) else { throw .closed }
        return try await batcher.submit((event, deliveries))
    }

    /// One group commit: the batch's events and their deliveries in one statement.
    private func commitAppends(_ batch: [(event: VerifiedEvent, deliveries: [NewDelivery])]) async throws(StoreError)
        -> [AppendResult]
    {
        let logger = logger
        do {
            var inserted: [String: Int64] = [:]
            var deliveries: Int64 = 0
            for try await (id, sequence, created) in try await client.execute(InsertEvents(batch), logger: logger) {
                inserted[id] = sequence
                deliveries = created
            }
            health.recordWrite()
            var accepted: Set<String> = []
            let results = batch.map { item -> AppendResult in
                let id = item.event.id.rawValue.postgresText
                // The first of repeated ids in the batch is the one the statement inserted.
                return inserted[id] != nil && accepted.insert(id).inserted ? .accepted : .duplicate
            }
            if deliveries > 0 {
                onDeliveriesCreated()
                notifyOtherInstances()
            }
            return results
        } catch {
            let detail = PostgresErrors.describe(error)
            logger.error(
                "Event store write failed", metadata: [LogKey.error: "\(detail)", LogKey.storeBatch: "\(batch.count)"])
            health.recordFailure(PostgresStoreFailure(detail))
            throw .unavailable(detail: detail)
        }
    }

    /// Sends `NOTIFY` on ``wakeupChannel`` after a commit that created deliveries, at most one at a time:
    /// notifications asked for while one is sent are folded into one more.
    private func notifyOtherInstances() {
        let start = notifying.withLockedValue { state in
            guard !state.sending else {
                state.again = true
                return false
            }
            state.sending = true
            return true
        }
        guard start else { return }
        Task {
            while true {
                _ = try? await client.query("SELECT pg_notify(\(Self.wakeupChannel), '')", logger: logger)
                let more = notifying.withLockedValue { state in
                    defer { state.again = false }
                    state.sending = state.again
                    return state.again
                }
                if !more { return }
            }
        }
    }

    /// One statement for a batch of attempt results; returns whether each applied.
    private func commitFinishes(_ batch: [AttemptRecord]) async throws(StoreError) -> [Bool] {
        do {
            var applied: Set<Int64> = []
            for try await id in try await client.execute(FinishAttempts(batch), logger: logger) {
                applied.insert(id)
            }
            health.recordWrite()
            return batch.map { applied.contains($0.delivery.rawValue) }
        } catch {
            let detail = PostgresErrors.describe(error)
            health.recordFailure(PostgresStoreFailure(detail))
            throw .unavailable(detail: detail)
        }
    }

    public func claim(_ request: ClaimRequest) async throws(StoreError) -> Claim {
        let turn = claimTurn.withLockedValue { turn in
            defer { turn &+= 1 }
            return turn
        }
        let logger = logger
        let parked = request.actions.filter { $0.value.ordered && $0.value.deadBlocks }.keys.map(\.postgresText)
        if let until = request.parkBlockedUntil, !parked.isEmpty {
            let query = PostgresQuery(
                unsafeSQL: OrderingSQL.parkMany, binds: Self.binds(until, request.now, Array(parked)))
            _ = try await write { client in try await client.query(query, logger: logger) }
        }
        return try await write { client in
            try await PostgresClaim(request: request, turn: turn).run(on: client, logger: logger)
        }
    }

    public func finish(_ record: AttemptRecord) async throws(StoreError) {
        let logger = logger
        if record.outcome == .released {
            _ = try await write { client in
                try await client.query(
                    """
                    UPDATE deliveries SET status = 'pending', attempts = attempts - 1, next_attempt_at = \(unixMilliseconds()),
                        updated_at = \(unixMilliseconds())
                    WHERE id = \(record.delivery.rawValue) AND attempts = \(record.attempt) AND status = 'running'
                    """, logger: logger)
            }
            return
        }
        guard let batcher = finishes.withLockedValue({ $0 }) else { throw .closed }
        if try await !batcher.submit(record) {
            logger.warning(
                "Ignored the result of an attempt that had lost its lease",
                metadata: [LogKey.deliveryID: "\(record.delivery)", LogKey.attempt: "\(record.attempt)"]
            )
        }
    }

    public func stats(probeBytes: Int? = nil) async throws(StoreError) -> StoreStats {
        let logger = logger
        return try await write { client in
            if let probeBytes {
                // As large as the largest event: a full disk may still take a small write.
                let filler = ByteBuffer(repeating: 0, count: max(probeBytes, 0))
                try await client.query(
                    """
                    INSERT INTO store_probe (id, filler) VALUES (1, \(filler))
                    ON CONFLICT (id) DO UPDATE SET filler = excluded.filler
                    """, logger: logger)
            }
            var stats = StoreStats()
            for try await (events, pending, oldest, dead) in try await client.query(
                """
                SELECT (SELECT coalesce(max(seq), 0) FROM events),
                       count(*) FILTER (WHERE status IN ('pending', 'failed', 'running')),
                       min(created_at) FILTER (WHERE status IN ('pending', 'failed', 'running')),
                       count(*) FILTER (WHERE status = 'dead')
                FROM deliveries WHERE status IN ('pending', 'failed', 'running', 'dead')
                """, logger: logger
            ).decode((Int64, Int64, Int64?, Int64).self) {
                stats.eventsReceived = events
                stats.pendingDeliveries = Int(clamping: pending)
                stats.oldestPendingCreatedAt = oldest
                stats.deadDeliveries = Int(clamping: dead)
            }
            // The distinct actions of unfinished deliveries, one index seek per action (a loose index scan).
            for try await action in try await client.query(
                """
                WITH RECURSIVE queued(action) AS (
                    SELECT min(action) FROM deliveries WHERE status IN ('pending', 'failed', 'running')
                    UNION ALL
                    SELECT (
                        SELECT min(action) FROM deliveries
                        WHERE status IN ('pending', 'failed', 'running') AND action > queued.action
                    ) FROM queued WHERE queued.action IS NOT NULL
                )
                SELECT action FROM queued WHERE action IS NOT NULL LIMIT 1000
                """, logger: logger
            ).decode(String.self) {
                stats.queuedActions.append(action)
            }
            return stats
        }
    }

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

    public func close() async {
        let appends = appends.withLockedValue { $0 }
        let finishes = finishes.withLockedValue { $0 }
        appends?.close()
        finishes?.close()
        // What is queued is committed before the pool goes.
        await appends?.finish()
        await finishes?.finish()
        self.appends.withLockedValue { $0 = nil }
        self.finishes.withLockedValue { $0 = nil }
        if let listener = listener.withLockedValue({ $0 }) {
            listener.cancel()
            await listener.value
        }
        runner.cancel()
        await runner.value
    }

    // MARK: - StoreConsole

    public func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent] {
        let columns =
            "seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, ''::bytea, subject"
        let (conditions, values) = filter.conditions(bytewiseID: #"(id COLLATE "C")"#)
        var binds = PostgresBindings()
        for value in values {
            switch value {
            case .text(let text): binds.append(text.postgresText)
            case .integer(let number): binds.append(number)
            }
        }
        binds.append(Int64(filter.limit))
        // `?` becomes `$1`, `$2`, … in order.
        var number = 0
        let filtered =
            conditions.isEmpty
            ? ""
            : "WHERE "
                + conditions.joined(separator: " AND ").split(separator: "?", omittingEmptySubsequences: false)
                .reduce(into: "") { sql, part in
                    if number > 0 { sql += "$\(number)" }
                    sql += part
                    number += 1
                }
        return try await readEvents(
            PostgresQuery(
                unsafeSQL: "SELECT \(columns) FROM events \(filtered) ORDER BY seq DESC LIMIT $\(binds.count)",
                binds: binds))
    }

    public func event(id: EventID) async throws(StoreError) -> StoredEvent? {
        try await readEvents(
            """
            SELECT seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, body, subject
            FROM events WHERE id = \(id.rawValue.postgresText)
            """
        ).first
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
        var conditions: [String] = []
        var binds = PostgresBindings()
        for (condition, value) in [
            ("d.id =", filter.id?.rawValue), ("d.id <", filter.before?.rawValue),
            ("d.created_at >=", filter.since.map { unixMilliseconds($0) }),
        ] {
            guard let value else { continue }
            binds.append(value)
            conditions.append("\(condition) $\(binds.count)")
        }
        for (column, value) in [
            ("d.status", filter.status?.rawValue), ("d.action", filter.action), ("e.id", filter.eventID?.rawValue),
            ("d.subject", filter.subject),
        ] {
            guard let value else { continue }
            binds.append(value.postgresText)
            conditions.append("\(column) = $\(binds.count)")
        }
        binds.append(Int64(filter.limit))
        let query = PostgresQuery(
            unsafeSQL: """
                SELECT d.id, e.id, e.type, d.action, d.status, d.attempts, d.last_error, d.next_attempt_at, d.replay,
                       d.created_at, d.updated_at, d.subject, d.out_of_order
                FROM deliveries d JOIN events e ON e.seq = d.event_seq
                \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
                ORDER BY d.id DESC LIMIT $\(binds.count)
                """,
            binds: binds)
        return try await read { client, logger in
            var deliveries: [StoredDelivery] = []
            let rows = try await client.query(query, logger: logger).decode(
                (Int64, String, String, String, String, Int64, String?, Int64, Int64, Int64, Int64, String?, Int64).self
            )
            for try await (
                id, eventID, type, action, status, attempts, error, next, replay, created, updated, subject, late
            )
                in rows
            {
                let status = DeliveryStatus(rawValue: status) ?? .pending
                let isOpen = status == .pending || status == .failed || status == .running
                var delivery = StoredDelivery(
                    id: DeliveryID(id),
                    eventID: EventID(eventID),
                    eventType: type,
                    action: action,
                    status: status,
                    attempts: Int(clamping: attempts),
                    lastError: error,
                    nextAttemptAt: isOpen ? Self.date(next) : nil,
                    isReplay: replay != 0,
                    createdAt: Self.date(created),
                    updatedAt: Self.date(updated)
                )
                delivery.subject = subject
                delivery.isOutOfOrder = late != 0
                deliveries.append(delivery)
            }
            return deliveries
        }
    }

    public func attempts(of delivery: DeliveryID) async throws(StoreError) -> [StoredAttempt] {
        try await read { client, logger in
            var attempts: [StoredAttempt] = []
            let rows = try await client.query(
                """
                SELECT number, started_at, duration_ms, outcome, error, output FROM attempts
                WHERE delivery_id = \(delivery.rawValue) ORDER BY id
                """, logger: logger
            ).decode((Int64, Int64, Int64, String, String?, String?).self)
            for try await (number, started, duration, outcome, error, output) in rows {
                attempts.append(
                    StoredAttempt(
                        number: Int(clamping: number), startedAt: Self.date(started), durationMilliseconds: duration,
                        outcome: outcome, error: error, output: output))
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
                "SELECT id FROM deliveries WHERE status = 'dead' ORDER BY id", logger: logger
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
            let now = unixMilliseconds()
            let query =
                dryRun
                ? PostgresQuery(unsafeSQL: move.selectMany, binds: Self.binds(batch))
                : PostgresQuery(unsafeSQL: move.updateMany, binds: Self.binds(now, batch))
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
        let query = PostgresQuery(unsafeSQL: OrderingSQL.unparkMany, binds: Self.binds(now, ids))
        let logger = logger
        _ = try await write { client in try await client.query(query, logger: logger) }
    }

    public func setPaused(_ action: String, _ paused: Bool) async throws(StoreError) -> Bool {
        // An upsert whose update its WHERE skips returns no row.
        let query =
            paused
            ? PostgresQuery(
                unsafeSQL: ActionStateSQL.pause + " RETURNING action",
                binds: Self.binds(action.postgresText, unixMilliseconds()))
            : PostgresQuery(
                unsafeSQL: ActionStateSQL.resume + " RETURNING action", binds: Self.binds(action.postgresText))
        let logger = logger
        return try await write { client in
            try await !client.query(query, logger: logger).decode(String.self).collect().isEmpty
        }
    }

    public func actionSummaries() async throws(StoreError) -> [ActionSummary] {
        try await read { client, logger in
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
                ).decode(String?.self) {
                    summaries[action]?.lastError = error
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
            unsafeSQL: OrderingSQL.blocked(actions: "SELECT unnest($1::text[])"),
            binds: Self.binds(actions.map(\.postgresText)))
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

    public func replay(_ plan: [ReplayStep]) async throws(StoreError) -> [DeliveryID?] {
        var created: [DeliveryID?] = []
        for start in stride(from: 0, to: plan.count, by: StoreMaintenance.batchSize) {
            let batch = Array(plan[start..<min(start + StoreMaintenance.batchSize, plan.count)])
            let sequences = batch.map(\.sequence)
            let actions = batch.map { $0.action.postgresText }
            let now = unixMilliseconds()
            // Each insert checks that its event is still stored (retention may have removed it since the
            // plan was made), so no delivery is ever left without its event.
            let rows = try await write { client in
                try await client.query(
                    """
                    INSERT INTO deliveries (event_seq, action, status, next_attempt_at, replay, created_at, updated_at)
                    SELECT p.seq, p.action, 'pending', \(now), 1, \(now), \(now)
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

    // MARK: - Helpers

    /// Runs a write with the store's deadline, recording the outcome in ``health``.
    private func write<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresClient) async throws -> Value
    ) async throws(StoreError) -> Value {
        let client = client
        do {
            let value = try await withDeadline(Self.deadline) { try await body(client) }
            health.recordWrite()
            return value
        } catch {
            health.recordFailure(PostgresStoreFailure(error.detail))
            throw error
        }
    }

    /// Runs a read with the store's deadline; failures are `store_read_failed`.
    func read<Value: Sendable>(
        _ body: @escaping @Sendable (PostgresClient, Logger) async throws -> Value
    ) async throws(StoreError) -> Value {
        let client = client
        let logger = logger
        do {
            return try await withDeadline(Self.deadline) { try await body(client, logger) }
        } catch {
            throw .readFailed(detail: error.detail)
        }
    }

    /// Runs `body` in one transaction with the store's deadline (for `store copy`'s batches).
    func transaction(
        _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> Void
    ) async throws(StoreError) {
        let logger = logger
        try await write { client in
            try await client.withTransaction(logger: logger) { connection in try await body(connection, logger) }
        }
    }

    private func readEvents(_ query: PostgresQuery) async throws(StoreError) -> [StoredEvent] {
        try await read { client, logger in
            var events: [StoredEvent] = []
            let rows = try await client.query(query, logger: logger).decode(
                (Int64, String, String, String?, String?, Int64, String, Int64, ByteBuffer, String?).self)
            for try await (seq, id, type, project, time, received, message, timestamp, body, subject) in rows {
                var event = StoredEvent(
                    sequence: seq, id: EventID(id), type: type, project: project, time: time,
                    receivedAt: Self.date(received), messageID: message, webhookTimestamp: timestamp,
                    body: Array(body.readableBytesView))
                event.subject = subject
                events.append(event)
            }
            return events
        }
    }

    private func candidates(_ query: PostgresQuery) async throws(StoreError) -> [ReplayCandidate] {
        try await read { client, logger in
            var found: [ReplayCandidate] = []
            for try await (seq, id, type, body) in try await client.query(query, logger: logger).decode(
                (Int64, String, String, ByteBuffer).self)
            {
                found.append(
                    ReplayCandidate(sequence: seq, id: EventID(id), type: type, body: Array(body.readableBytesView)))
            }
            return found
        }
    }

    /// The `FROM … WHERE …` of the events that may go, with the cutoff as `$1`.
    private static func pruneCandidates(includeDead: Bool) -> String {
        let finished = includeDead ? "'succeeded', 'skipped', 'dead'" : "'succeeded', 'skipped'"
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

    private static func binds(_ values: any PostgresDynamicTypeEncodable...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
    }

    static func date(_ milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }
}

extension AsyncSequence {
    /// Every element, in order.
    func collect() async throws -> [Element] {
        var elements: [Element] = []
        for try await element in self { elements.append(element) }
        return elements
    }
}
