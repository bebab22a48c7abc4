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
/// - ``finish(_:)`` is fenced by attempt: the report of an attempt that lost its lease changes nothing.
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

    /// Records a finished attempt and moves its delivery on.
    func finish(_ record: AttemptRecord) async throws(StoreError)

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

extension StoreConsole {
    /// The newest events first, optionally of one exact type, without bodies.
    public func events(type: String?, limit: Int) async throws(StoreError) -> [StoredEvent] {
        try await events(EventFilter(type: type, limit: limit))
    }
}

extension EventLog {
    /// Appends with one unordered delivery per action, due at once.
    public func append(_ event: VerifiedEvent, actions: [String] = []) async throws(StoreError) -> AppendResult {
        try await append(event, deliveries: actions.map { NewDelivery(action: $0, dueAt: event.receivedAt) })
    }
}

/// The store as operators use it, beside a running daemon: the CLI's reads and its changes (retry,
/// replay, prune). Changes are committed in batches so a running daemon's writes are never held up long;
/// the daemon finds changed deliveries by its next claim.
public protocol StoreConsole: AnyObject, Sendable {
    /// The newest events first, filtered and after a cursor, without bodies.
    func events(_ filter: EventFilter) async throws(StoreError) -> [StoredEvent]
    /// One event with its body, or nil when no event has that id.
    func event(id: EventID) async throws(StoreError) -> StoredEvent?
    /// How many events the log holds.
    func eventCount() async throws(StoreError) -> Int
    /// Deliveries, newest first, filtered.
    func deliveries(_ filter: DeliveryFilter) async throws(StoreError) -> [StoredDelivery]
    /// The recorded attempts of one delivery, oldest first.
    func attempts(of delivery: DeliveryID) async throws(StoreError) -> [StoredAttempt]
    /// The names of the applied schema migrations, in order.
    func appliedMigrations() async throws(StoreError) -> [String]

    /// The ids of every dead delivery, oldest first.
    func deadDeliveries() async throws(StoreError) -> [DeliveryID]
    /// Moves the given dead or failed deliveries back to `pending` with a fresh attempt budget; a dry run
    /// only reads. Returns the ids that were (or would be) retried.
    func retry(_ ids: [DeliveryID], dryRun: Bool) async throws(StoreError) -> [DeliveryID]
    /// Marks the given pending, failed or dead deliveries `skipped`: never attempted again. A dry run only
    /// reads. Returns the ids that were (or would be) skipped.
    func skip(_ ids: [DeliveryID], dryRun: Bool) async throws(StoreError) -> [DeliveryID]
    /// Pauses or resumes an action: a paused action's deliveries are not claimed by any instance. Returns
    /// whether that changed anything.
    func setPaused(_ action: String, _ paused: Bool) async throws(StoreError) -> Bool
    /// Every action the store knows of (with deliveries or a recorded state), by name.
    func actionSummaries() async throws(StoreError) -> [ActionSummary]
    /// For each given delivery whose subject a dead one holds, that dead delivery.
    func blockers(of deliveries: [DeliveryID]) async throws(StoreError) -> [DeliveryID: DeliveryID]
    /// Removes events received before `cutoff` (Unix ms) whose deliveries have all finished (dead ones
    /// too with `includeDead`); a dry run counts. Returns how many were (or would be) removed.
    func prune(before cutoff: Int64, includeDead: Bool, dryRun: Bool) async throws(StoreError) -> Int
    /// Stored events by id (missing ones left out), for a replay.
    func replayCandidates(ids: [EventID]) async throws(StoreError) -> [ReplayCandidate]
    /// Stored events of an exact type received in `[since, until)`, oldest first, for a replay.
    func replayCandidates(type: String, since: Date, until: Date?) async throws(StoreError) -> [ReplayCandidate]
    /// Creates one new pending delivery per step, marked as a replay; returns each new delivery's id, or
    /// nil when its event is no longer stored.
    func replay(_ plan: [ReplayStep]) async throws(StoreError) -> [DeliveryID?]

    /// Closes the console's connections.
    func close() async
}

/// A stored event a replay may take.
public struct ReplayCandidate: Sendable, Equatable {
    /// The store's sequence number of the event (its row).
    public let sequence: Int64
    public let id: EventID
    public let type: String
    /// The stored JSON, for the routes' payload filters.
    public let body: [UInt8]

    public init(sequence: Int64, id: EventID, type: String, body: [UInt8]) {
        self.sequence = sequence
        self.id = id
        self.type = type
        self.body = body
    }
}

/// One delivery a replay creates: an event (by its sequence number) to one action.
public struct ReplayStep: Sendable, Equatable {
    public let sequence: Int64
    public let action: String

    public init(sequence: Int64, action: String) {
        self.sequence = sequence
        self.action = action
    }
}
