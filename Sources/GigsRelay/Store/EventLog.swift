import Foundation

// The store's contract. Two backends keep it: SQLite (`Store/SQLite`, the embedded default for one
// machine) and PostgreSQL (`Store/PostgreSQL`, for several instances sharing one database). One
// conformance suite (`StoreConformanceTests`) checks both against every promise below. The daemon and
// the CLI use only these two protocols; `StoreLocation` opens the configured backend.

/// The event log as the daemon writes it: ingest appends, the dispatcher claims and finishes, the monitor
/// reads counts, retention prunes.
///
/// Promises every backend keeps:
/// - ``append(_:actions:)`` returns only after the transaction that holds the event (or found it a
///   duplicate) is durable: committed with the disk flushed. An event id is stored once, whichever
///   instance or request brought it; a new event gets one `pending` delivery per routed action in the
///   same transaction, a duplicate none.
/// - ``claim(_:)`` hands each due delivery to one claimer at a time: it marks the delivery `running`
///   under a lease and counts the attempt. A lease that expires is an attempt that never finished; on a
///   delivery's last allowed attempt it makes the delivery `dead` instead of running it again.
/// - ``finish(_:)`` is fenced by attempt: the report of an attempt that lost its lease changes nothing,
///   and says so.
/// - A failed write changes nothing and is reported as ``StoreError`` (`store_unavailable`); the next
///   call tries again, so an outage ends by itself when the database is back.
public protocol EventLog: AnyObject, Sendable {
    /// Whether the last writes reached the database.
    var health: StoreHealth { get }

    /// Durably stores the event unless its id is already stored; a new event also gets its pending
    /// deliveries, in the same transaction.
    func append(_ event: VerifiedEvent, deliveries: [NewDelivery]) async throws(StoreError) -> AppendResult

    /// Claims due deliveries for the dispatcher, marking them running under a lease.
    func claim(_ request: ClaimRequest) async throws(StoreError) -> Claim

    /// Records a finished attempt and moves its delivery on; false when the attempt had lost its lease
    /// (the report then changed nothing).
    @discardableResult
    func finish(_ record: AttemptRecord) async throws(StoreError) -> Bool

    /// Reads the monitor's counts; with `probeBytes`, also proves the store takes a write that large.
    func stats(probeBytes: Int?) async throws(StoreError) -> StoreStats

    /// Retention: removes up to `limit` events received before `cutoff` (Unix ms) whose deliveries all
    /// succeeded or were skipped, with their deliveries and attempts; returns how many. With several
    /// instances, one prunes at a time and the others get 0.
    func prune(before cutoff: Int64, limit: Int) async throws(StoreError) -> Int

    /// Records an action's circuit breaker change, for `gigs-relay actions`.
    func recordCircuit(_ change: CircuitChange) async throws(StoreError)

    /// Subjects of the given actions held by a dead delivery with others waiting behind it.
    func blockedSubjects(actions: [String]) async throws(StoreError) -> BlockedSubjects

    /// Finishes what is in flight and closes the store; later calls fail with `store_closed`.
    func close() async
}

extension EventLog {
    /// Appends with one unordered delivery per action, due at once.
    public func append(_ event: VerifiedEvent, actions: [String] = []) async throws(StoreError) -> AppendResult {
        try await append(event, deliveries: actions.map { NewDelivery(action: $0, dueAt: event.receivedAt) })
    }
}
