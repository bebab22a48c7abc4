import Foundation
import NIOConcurrencyHelpers
import NIOPosix

/// ``StoreConsole`` on a SQLite file: reads through a read-only connection (``EventLogReader``), changes
/// through a second connection opened on first use (``StoreMaintenance``), both beside the running
/// daemon's writer (WAL lets readers and the writer proceed together; SQLite serialises writers).
///
/// SQLite calls block, so they run on NIO's blocking thread pool, one at a time.
public final class SQLiteConsole: StoreConsole, @unchecked Sendable {
    // Safe because every use of the connections holds the lock.
    private struct Connections {
        var reader: EventLogReader
        var maintenance: StoreMaintenance?
    }

    /// The SQLite file.
    public let path: String
    private let connections: NIOLockedValueBox<Connections?>
    private let clock: any RelayClock
    private let sealer: PayloadSealer

    /// Opens an existing store; never creates one.
    ///
    /// - Parameters:
    ///   - clock: the time operator changes are stamped with.
    ///   - sealer: the store's keys: a store holding rows sealed with a key it lacks is refused.
    public init(path: String, clock: any RelayClock = SystemClock(), sealer: PayloadSealer = .plaintext)
        throws(StoreError)
    {
        self.path = path
        self.clock = clock
        self.sealer = sealer
        connections = NIOLockedValueBox(Connections(reader: try EventLogReader(path: path, sealer: sealer)))
    }

    /// Runs `body` with the reader on NIO's blocking thread pool: SQLite calls block, and the daemon's
    /// operator API and console call from Swift's cooperative threads.
    private func read<Value: Sendable>(
        _ body: @escaping @Sendable (EventLogReader) throws(StoreError) -> Value
    ) async throws(StoreError) -> Value {
        try await offload { () throws(StoreError) -> Value in
            let result: Result<Value, StoreError> = self.connections.withLockedValue { connections in
                guard let reader = connections?.reader else { return .failure(.closed) }
                do throws(StoreError) {
                    return .success(try body(reader))
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }
    }

    /// Runs `body` with the maintenance connection (opened on first use) on NIO's blocking thread pool.
    private func change<Value: Sendable>(
        _ body: @escaping @Sendable (StoreMaintenance) throws(StoreError) -> Value
    ) async throws(StoreError) -> Value {
        try await offload { () throws(StoreError) -> Value in
            let path = self.path
            let result: Result<Value, StoreError> = self.connections.withLockedValue { connections in
                guard connections != nil else { return .failure(.closed) }
                do throws(StoreError) {
                    let maintenance: StoreMaintenance
                    if let open = connections?.maintenance {
                        maintenance = open
                    } else {
                        maintenance = try StoreMaintenance(path: path, clock: self.clock, sealer: self.sealer)
                        connections?.maintenance = maintenance
                    }
                    return .success(try body(maintenance))
                } catch {
                    return .failure(error)
                }
            }
            return try result.get()
        }
    }

    private func offload<Value: Sendable>(
        _ work: @escaping @Sendable () throws(StoreError) -> Value
    ) async throws(StoreError) -> Value {
        let result: Result<Value, StoreError>
        do {
            result = try await NIOThreadPool.singleton.runIfActive { () -> Result<Value, StoreError> in
                do throws(StoreError) {
                    return .success(try work())
                } catch {
                    return .failure(error)
                }
            }
        } catch {
            result = .failure(.closed)
        }
        return try result.get()
    }

    public func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent] {
        try await read { reader throws(StoreError) in try reader.list(filter) }
    }

    public func event(id: EventID) async throws(StoreError) -> StoredEvent? {
        try await read { reader throws(StoreError) in try reader.event(id: id) }
    }

    public func eventCount() async throws(StoreError) -> Int {
        try await read { reader throws(StoreError) in try reader.count() }
    }

    public func deliveries(_ filter: DeliveryFilter) async throws(StoreError) -> [StoredDelivery] {
        try await read { reader throws(StoreError) in try reader.deliveries(filter) }
    }

    public func attempts(of delivery: DeliveryID) async throws(StoreError) -> [StoredAttempt] {
        try await read { reader throws(StoreError) in try reader.attempts(of: delivery) }
    }

    public func appliedMigrations() async throws(StoreError) -> [String] {
        try await read { reader throws(StoreError) in try reader.appliedMigrations() }
    }

    public func deadDeliveries() async throws(StoreError) -> [DeliveryID] {
        try await change { maintenance throws(StoreError) in try maintenance.deadDeliveries() }
    }

    public func retry(_ ids: [DeliveryID], dryRun: Bool) async throws(StoreError) -> [DeliveryID] {
        try await change { maintenance throws(StoreError) in try maintenance.retry(ids, dryRun: dryRun) }
    }

    public func skip(_ ids: [DeliveryID], dryRun: Bool) async throws(StoreError) -> [DeliveryID] {
        try await change { maintenance throws(StoreError) in try maintenance.skip(ids, dryRun: dryRun) }
    }

    public func setPaused(_ action: String, _ paused: Bool) async throws(StoreError) -> Bool {
        try await change { maintenance throws(StoreError) in try maintenance.setPaused(action, paused) }
    }

    public func blockers(of deliveries: [DeliveryID]) async throws(StoreError) -> [DeliveryID: DeliveryID] {
        try await read { reader throws(StoreError) in
            var blockers: [DeliveryID: DeliveryID] = [:]
            for id in deliveries {
                if let blocker = try reader.blocker(of: id) { blockers[id] = blocker }
            }
            return blockers
        }
    }

    public func actionSummaries() async throws(StoreError) -> [ActionSummary] {
        try await change { maintenance throws(StoreError) in try maintenance.actionSummaries() }
    }

    public func prune(before cutoff: Int64, includeDead: Bool, dryRun: Bool) async throws(StoreError) -> Int {
        try await change { maintenance throws(StoreError) in
            try maintenance.prune(before: cutoff, includeDead: includeDead, dryRun: dryRun)
        }
    }

    public func replayCandidates(ids: [EventID]) async throws(StoreError) -> [ReplayCandidate] {
        try await change { maintenance throws(StoreError) in
            try maintenance.events(ids: ids)
        }
    }

    public func replayCandidates(type: String, since: Date, until: Date?) async throws(StoreError) -> [ReplayCandidate]
    {
        try await change { maintenance throws(StoreError) in
            try maintenance.events(type: type, since: since, until: until)
        }
    }

    public func appendStandIns(_ events: [(event: VerifiedEvent, deliveries: [NewDelivery])]) async throws(StoreError)
        -> [Bool]
    {
        try await change { maintenance throws(StoreError) in try maintenance.appendStandIns(events) }
    }

    public func reseal(_ table: Reseal.Table, after cursor: Int64, mode: Reseal.Mode) async throws(StoreError)
        -> Reseal.Batch
    {
        try await change { maintenance throws(StoreError) in try maintenance.reseal(table, after: cursor, mode: mode) }
    }

    public func erase(_ selection: Erasure.Selection, reason: String, dryRun: Bool) async throws(StoreError)
        -> Erasure.Result
    {
        try await change { maintenance throws(StoreError) in
            try maintenance.erase(selection, reason: reason, dryRun: dryRun)
        }
    }

    public func userDeletions(limit: Int) async throws(StoreError) -> [Erasure.Deletion] {
        try await change { maintenance throws(StoreError) in try maintenance.userDeletions(limit: limit) }
    }

    public func unlistKeys(keeping: String) async throws(StoreError) -> Int {
        try await change { maintenance throws(StoreError) in try maintenance.unlistKeys(keeping: keeping) }
    }

    public func startReconcileRun(
        _ trigger: ReconcileTrigger, instance: String, when isDue: @escaping @Sendable (ReconcileRun?) -> Bool
    ) async throws(StoreError) -> Int64? {
        try await change { maintenance throws(StoreError) in
            try maintenance.startReconcileRun(trigger, instance: instance, when: isDue)
        }
    }

    public func finishReconcileRun(_ id: Int64, result: Reconciliation) async throws(StoreError) {
        try await change { maintenance throws(StoreError) in try maintenance.finishReconcileRun(id, result: result) }
    }

    public func reconcileRuns(limit: Int) async throws(StoreError) -> [ReconcileRun] {
        try await read { reader throws(StoreError) in try reader.reconcileRuns(limit: limit) }
    }

    public func replay(_ plan: [ReplayStep]) async throws(StoreError) -> [DeliveryID?] {
        try await change { maintenance throws(StoreError) in
            try maintenance.replay(plan.map { ($0.sequence, $0.action) })
        }
    }

    public func close() {
        connections.withLockedValue { $0 = nil }
    }
}
