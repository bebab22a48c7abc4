import NIOConcurrencyHelpers

/// Counts the monitor reads from the store for readiness, metrics and systemd's status line.
public struct StoreStats: Sendable, Equatable {
    /// The highest event sequence number: events received since the store was created.
    public var eventsReceived: Int64 = 0
    /// Deliveries `pending`, `running` or `failed` (will retry).
    public var pendingDeliveries: Int = 0
    /// When the oldest of those was created (Unix ms), if any.
    public var oldestPendingCreatedAt: Int64?
    /// Deliveries `dead` (dead letters).
    public var deadDeliveries: Int = 0
    /// The actions that have unfinished deliveries (at most 1,000 names).
    public var queuedActions: [String] = []

    public init() {}

    /// How long the oldest unfinished delivery has waited; 0 when there is none.
    public func oldestPendingAgeMilliseconds(now: Int64) -> Int64 {
        oldestPendingCreatedAt.map { max(now - $0, 0) } ?? 0
    }
}

/// Whether the store's last writes reached the disk, as the writer thread saw them.
///
/// A failed commit (disk full, I/O error) marks the store failing until a later commit that wrote
/// something (an event, or the monitor's probe, which writes as much as the largest event) succeeds.
public final class StoreHealth: Sendable {
    private let failure = NIOLockedValueBox<String?>(nil)

    public init() {}

    /// Why the last write failed, or nil when the store is writing.
    public var writeFailure: String? { failure.withLockedValue { $0 } }

    func recordFailure(_ error: some Error) {
        failure.withLockedValue { $0 = "\(error)".bounded(300) }
    }

    func recordWrite() {
        failure.withLockedValue { $0 = nil }
    }
}
