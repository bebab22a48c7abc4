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
    let client: PostgresClient
    /// The task running the pool when the store runs it itself (``PoolOwner/store``); nil when the
    /// daemon's service group runs it through ``runPool()``.
    private let runner: Task<Void, Never>?
    let logger: Logger
    /// The time finishes, releases and operator changes are stamped with.
    let clock: any RelayClock
    /// This instance's dispatcher, woken after a commit that created deliveries.
    let handOff: DeliveryHandOff
    /// Seals the payloads it writes and opens those it reads.
    let sealer: PayloadSealer
    private let claimTurn = NIOLockedValueBox(0)
    private let appends: NIOLockedValueBox<Batcher<(event: VerifiedEvent, deliveries: [NewDelivery]), AppendResult>?> =
        NIOLockedValueBox(nil)
    private let finishes: NIOLockedValueBox<Batcher<AttemptRecord, Bool>?> = NIOLockedValueBox(nil)
    private let listener: NIOLockedValueBox<Task<Void, Never>?> = NIOLockedValueBox(nil)
    /// Whether a wake-up notification is being sent, and whether another is wanted after it.
    let notifying = NIOLockedValueBox((sending: false, again: false))

    private init(
        url: PostgresURL,
        client: PostgresClient,
        runner: Task<Void, Never>?,
        logger: Logger,
        poolSize: Int,
        clock: any RelayClock,
        handOff: DeliveryHandOff,
        sealer: PayloadSealer
    ) {
        self.url = url
        self.sealer = sealer
        self.clock = clock
        self.client = client
        self.runner = runner
        self.logger = logger
        self.handOff = handOff
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
    ///
    /// - Parameters:
    ///   - clock: the time finishes, releases and operator changes are stamped with (claims bring their
    ///     own `now`).
    ///   - pool: who runs the connection pool: the store itself (the CLI, tests), or the daemon's
    ///     service group through ``runPool()`` (until it runs, queries wait).
    ///   - sealer: the store's keys (``PayloadSealer``): a store listing a key it lacks is refused, and its
    ///     current key is listed. Nil for `store copy`'s rows, which are read and written as stored.
    public static func open(
        url: PostgresURL,
        password: String?,
        poolSize: Int,
        clock: any RelayClock = SystemClock(),
        pool: PoolOwner = .store,
        logger: Logger,
        listen: Bool = false,
        handOff: DeliveryHandOff = DeliveryHandOff(),
        sealer: PayloadSealer? = .plaintext
    ) async throws(StoreError) -> PostgresStore {
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .notice)
        // One connection of its own checks durability and migrates, before the pool runs.
        let probe: PostgresConnection
        do {
            probe = try await PostgresConnection.connect(
                configuration: try .relay(url: url, password: password), id: 0, logger: backgroundLogger)
        } catch {
            throw .openFailed(location: url.description, detail: PostgresErrors.describe(error))
        }
        do throws(StoreError) {
            try await withDeadline(.seconds(60)) {
                try await Self.warnWithoutSynchronousCommit(probe, url: url, logger: logger)
                try await PostgresSchema.migrate(probe, logger: logger)
            }
            if let sealer { try await Self.checkKeys(probe, sealer: sealer, logger: logger) }
        } catch  where error.isConfigurationError {
            try? await probe.close()
            throw error
        } catch {
            try? await probe.close()
            throw .openFailed(location: url.description, detail: error.detail)
        }
        try? await probe.close()
        let configuration = PostgresClient.Configuration.relay(url: url, password: password, poolSize: poolSize)
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        let runner = pool == .store ? Task { await client.run() } : nil
        let store = PostgresStore(
            url: url, client: client, runner: runner, logger: logger, poolSize: poolSize, clock: clock,
            handOff: handOff, sealer: sealer ?? .plaintext)
        if listen {
            store.listener.withLockedValue { $0 = Task { await store.listenForDeliveries() } }
        }
        return store
    }

    /// Refuses a store holding rows sealed with a key `sealer` lacks (``StoreKeySQL``) and lists its current
    /// key before anything is sealed with it.
    private static func checkKeys(
        _ connection: PostgresConnection, sealer: PayloadSealer, logger: Logger
    ) async throws(StoreError) {
        do {
            var listed: [String] = []
            for try await id in try await connection.query(PostgresQuery(unsafeSQL: StoreKeySQL.listed), logger: logger)
                .decode(String.self)
            {
                listed.append(id)
            }
            try sealer.check(recorded: listed)
            if let current = sealer.current, !listed.contains(current.id) {
                try await connection.query(
                    PostgresQuery(
                        unsafeSQL: StoreKeySQL.list, binds: binds(current.id.postgresText, unixMilliseconds())),
                    logger: logger)
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .unavailable(detail: PostgresErrors.describe(error))
        }
    }

    /// Warns when the server acknowledges commits before they are durable.
    private static func warnWithoutSynchronousCommit(
        _ connection: PostgresConnection, url: PostgresURL, logger: Logger
    ) async throws {
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .notice)
        for try await value in try await connection.query("SHOW synchronous_commit", logger: backgroundLogger)
            .decode(String.self) where value == "off"
        {
            logger.warning(
                "PostgreSQL has synchronous_commit = off: events answered 2xx may be lost if the server crashes",
                metadata: [LogKey.storePath: "\(url)"])
        }
    }

    // MARK: - EventLog

    public func append(_ event: VerifiedEvent, deliveries: [NewDelivery]) async throws(StoreError) -> AppendResult {
        guard let batcher = appends.withLockedValue({ $0 }) else { throw .closed }
        // Sealed on the caller's task, beside the other requests rather than in the batch's commit.
        return try await batcher.submit((event.sealed(by: sealer), deliveries))
    }

    /// One group commit: the batch's events and their deliveries in one statement. New deliveries the
    /// dispatcher offers room for are leased to it in the same statement and handed over after it.
    private func commitAppends(_ batch: [(event: VerifiedEvent, deliveries: [NewDelivery])]) async throws(StoreError)
        -> [AppendResult]
    {
        let logger = logger
        let now = clock.now
        var leased: [String] = []
        let leases = batch.map { item in
            item.deliveries.map { delivery -> Int64? in
                let leasedUntil = handOff.lease(delivery, now: now)
                if leasedUntil != nil { leased.append(delivery.action) }
                return leasedUntil
            }
        }
        do {
            var inserted: [String: Int64] = [:]
            var queued: Int64 = 0
            var handed: [(id: String, deliveries: [Int64], actions: [String])] = []
            let statement = InsertEvents(batch, leases: leases)
            for try await (id, sequence, pending, deliveries, actions) in try await client.execute(
                statement, logger: logger)
            {
                inserted[id] = sequence
                queued = pending
                if !deliveries.isEmpty { handed.append((id, deliveries, actions)) }
            }
            health.recordWrite()
            for item in batch { item.event.groupCommit?.committed(with: batch.count) }
            var accepted: Set<String> = []
            var firstIndex: [String: Int] = [:]
            let results = batch.enumerated().map { index, item -> AppendResult in
                let id = item.event.id.rawValue.postgresText
                // The first of repeated ids in the batch is the one the statement inserted.
                guard inserted[id] != nil && accepted.insert(id).inserted else { return .duplicate }
                firstIndex[id] = index
                return .accepted
            }
            var jobs: [DeliveryJob] = []
            for (id, deliveries, actions) in handed {
                guard let index = firstIndex[id] else { continue }
                let event = batch[index].event
                for (delivery, action) in zip(deliveries, actions) {
                    var job = DeliveryJob(
                        id: DeliveryID(delivery), eventID: event.id, eventType: event.type, action: action,
                        attempt: 1, body: event.body, receivedAt: event.receivedAt)
                    job.traceContext = event.traceContext
                    jobs.append(job)
                }
            }
            // Leases whose delivery was not stored running (a duplicate event, an action paused meanwhile).
            var unused: [String: Int] = [:]
            for action in leased { unused[action, default: 0] += 1 }
            for job in jobs { unused[job.action, default: 0] -= 1 }
            for (action, count) in unused where count > 0 {
                for _ in 0..<count { handOff.cancel(action) }
            }
            handOff.committed(handedOver: jobs, queued: queued > 0)
            // Other instances claim only what is pending.
            if queued > 0 { notifyOtherInstances() }
            return results
        } catch {
            for action in leased { handOff.cancel(action) }
            let detail = PostgresErrors.describe(error)
            logger.error(
                "Event store write failed", metadata: [LogKey.error: "\(detail)", LogKey.storeBatch: "\(batch.count)"])
            health.recordFailure(PostgresStoreFailure(detail))
            throw .unavailable(detail: detail)
        }
    }

    /// One statement for a batch of attempt results; returns whether each applied.
    private func commitFinishes(_ batch: [AttemptRecord]) async throws(StoreError) -> [Bool] {
        do {
            var applied: Set<Int64> = []
            for try await id in try await client.execute(FinishAttempts(batch, now: clock.now), logger: logger) {
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
        let parked = request.actions.filter { $0.value.ordered && $0.value.deadBlocks }.keys
        if let until = request.parkBlockedUntil, !parked.isEmpty {
            let query = PostgresQuery(
                OrderingSQL.park(actions: Array(parked), until: until, now: request.now, .postgres))
            _ = try await write { client in try await client.query(query, logger: logger) }
        }
        return try await write { client in
            try await PostgresClaim(request: request, turn: turn).run(on: client, logger: logger)
        }
    }

    @discardableResult
    public func finish(_ record: AttemptRecord) async throws(StoreError) -> Bool {
        let logger = logger
        if record.outcome == .released {
            let query = PostgresQuery(
                unsafeSQL: AttemptSQL.release,
                binds: Self.binds(clock.now, record.delivery.rawValue, Int64(record.attempt)))
            return try await write { client in
                try await !client.query(query, logger: logger).decode(Int64.self).collect().isEmpty
            }
        }
        guard let batcher = finishes.withLockedValue({ $0 }) else { throw .closed }
        return try await batcher.submit(record.sealed(by: sealer))
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
                       count(*) FILTER (WHERE status IN (\(unescaped: DeliveryStatus.unfinished.sql))),
                       min(created_at) FILTER (WHERE status IN (\(unescaped: DeliveryStatus.unfinished.sql))),
                       count(*) FILTER (WHERE status = \(unescaped: DeliveryStatus.dead.sql))
                FROM deliveries WHERE status IN (\(unescaped: DeliveryStatus.counted.sql))
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
                    SELECT min(action) FROM deliveries WHERE status IN (\(unescaped: DeliveryStatus.unfinished.sql))
                    UNION ALL
                    SELECT (
                        SELECT min(action) FROM deliveries
                        WHERE status IN (\(unescaped: DeliveryStatus.unfinished.sql)) AND action > queued.action
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
        runner?.cancel()
        await runner?.value
    }

    /// Runs the connection pool until the task is cancelled, for a store opened with
    /// ``PoolOwner/serviceGroup``; returns at once for one that runs its own.
    public func runPool() async {
        guard runner == nil else { return }
        await client.run()
    }

    // MARK: - Helpers

    /// Runs a write with the store's deadline, recording the outcome in ``health``.
    func write<Value: Sendable>(
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

    static func binds(_ values: any PostgresDynamicTypeEncodable...) -> PostgresBindings {
        var bindings = PostgresBindings()
        for value in values { bindings.append(value) }
        return bindings
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

/// Who runs a PostgreSQL store's connection pool.
public enum PoolOwner: Sendable {
    /// The store, in a task of its own, from open to close (the CLI, tests).
    case store
    /// The daemon's service group, through ``PostgresStore/runPool()`` in ``StoreService``, so the
    /// pool starts and stops with the group.
    case serviceGroup
}
