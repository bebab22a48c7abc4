import Foundation
import NIOConcurrencyHelpers

/// ``StoreConsole`` on a SQLite file: reads through a read-only connection (``EventLogReader``), changes
/// through a second connection opened on first use (``StoreMaintenance``), both beside the running
/// daemon's writer (WAL lets readers and the writer proceed together; SQLite serialises writers).
///
/// SQLite calls block; the CLI is their only caller, one at a time.
public final class SQLiteConsole: StoreConsole, @unchecked Sendable {
    // Safe because every use of the connections holds the lock.
    private struct Connections {
        var reader: EventLogReader
        var maintenance: StoreMaintenance?
    }

    /// The SQLite file.
    public let path: String
    private let connections: NIOLockedValueBox<Connections?>

    /// Opens an existing store; never creates one.
    public init(path: String) throws(StoreError) {
        self.path = path
        connections = NIOLockedValueBox(Connections(reader: try EventLogReader(path: path)))
    }

    private func read<Value>(_ body: (EventLogReader) throws(StoreError) -> Value) throws(StoreError) -> Value {
        let result: Result<Value, StoreError> = connections.withLockedValue { connections in
            guard let reader = connections?.reader else { return .failure(.closed) }
            do throws(StoreError) {
                return .success(try body(reader))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    private func change<Value>(_ body: (StoreMaintenance) throws(StoreError) -> Value) throws(StoreError) -> Value {
        let path = path
        let result: Result<Value, StoreError> = connections.withLockedValue { connections in
            guard connections != nil else { return .failure(.closed) }
            do throws(StoreError) {
                let maintenance: StoreMaintenance
                if let open = connections?.maintenance {
                    maintenance = open
                } else {
                    maintenance = try StoreMaintenance(path: path)
                    connections?.maintenance = maintenance
                }
                return .success(try body(maintenance))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public func events(_ filter: EventFilter) throws(StoreError) -> [StoredEvent] {
        try read { reader throws(StoreError) in try reader.list(filter) }
    }

    public func event(id: EventID) throws(StoreError) -> StoredEvent? {
        try read { reader throws(StoreError) in try reader.event(id: id) }
    }

    public func eventCount() throws(StoreError) -> Int {
        try read { reader throws(StoreError) in try reader.count() }
    }

    public func deliveries(_ filter: DeliveryFilter) throws(StoreError) -> [StoredDelivery] {
        try read { reader throws(StoreError) in try reader.deliveries(filter) }
    }

    public func attempts(of delivery: DeliveryID) throws(StoreError) -> [StoredAttempt] {
        try read { reader throws(StoreError) in try reader.attempts(of: delivery) }
    }

    public func appliedMigrations() throws(StoreError) -> [String] {
        try read { reader throws(StoreError) in try reader.appliedMigrations() }
    }

    public func deadDeliveries() throws(StoreError) -> [DeliveryID] {
        try change { maintenance throws(StoreError) in try maintenance.deadDeliveries() }
    }

    public func retry(_ ids: [DeliveryID], dryRun: Bool) throws(StoreError) -> [DeliveryID] {
        try change { maintenance throws(StoreError) in try maintenance.retry(ids, dryRun: dryRun) }
    }

    public func skip(_ ids: [DeliveryID], dryRun: Bool) throws(StoreError) -> [DeliveryID] {
        try change { maintenance throws(StoreError) in try maintenance.skip(ids, dryRun: dryRun) }
    }

    public func setPaused(_ action: String, _ paused: Bool) throws(StoreError) -> Bool {
        try change { maintenance throws(StoreError) in try maintenance.setPaused(action, paused) }
    }

    public func blockers(of deliveries: [DeliveryID]) throws(StoreError) -> [DeliveryID: DeliveryID] {
        try read { reader throws(StoreError) in
            var blockers: [DeliveryID: DeliveryID] = [:]
            for id in deliveries {
                if let blocker = try reader.blocker(of: id) { blockers[id] = blocker }
            }
            return blockers
        }
    }

    public func actionSummaries() throws(StoreError) -> [ActionSummary] {
        try change { maintenance throws(StoreError) in try maintenance.actionSummaries() }
    }

    public func prune(before cutoff: Int64, includeDead: Bool, dryRun: Bool) throws(StoreError) -> Int {
        try change { maintenance throws(StoreError) in
            try maintenance.prune(before: cutoff, includeDead: includeDead, dryRun: dryRun)
        }
    }

    public func replayCandidates(ids: [EventID]) throws(StoreError) -> [ReplayCandidate] {
        try change { maintenance throws(StoreError) in
            try maintenance.events(ids: ids)
        }
    }

    public func replayCandidates(type: String, since: Date, until: Date?) throws(StoreError) -> [ReplayCandidate] {
        try change { maintenance throws(StoreError) in
            try maintenance.events(type: type, since: since, until: until)
        }
    }

    public func replay(_ plan: [ReplayStep]) throws(StoreError) -> [DeliveryID?] {
        try change { maintenance throws(StoreError) in
            try maintenance.replay(plan.map { ($0.sequence, $0.action) })
        }
    }

    public func close() {
        connections.withLockedValue { $0 = nil }
    }
}
