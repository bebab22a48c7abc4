import Foundation

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
    /// Stores reconciliation's stand-ins (``StandIn``), each with its deliveries pending, unless an event
    /// with its id, or the genuine event it stands in for, is stored already (checked under a lock that
    /// appends of the genuine event wait for); returns, for each, whether it was stored now.
    func appendStandIns(_ events: [(event: VerifiedEvent, deliveries: [NewDelivery])]) async throws(StoreError)
        -> [Bool]
    /// Records the start of a reconciliation run and returns its id, when `isDue` says so of the newest
    /// run of `trigger` (nil: there is none yet). The check and the record are one step under a lock, so
    /// of several instances asking at once one starts; nil when it is not due or another instance is
    /// deciding.
    func startReconcileRun(
        _ trigger: ReconcileTrigger, instance: String, when isDue: @escaping @Sendable (ReconcileRun?) -> Bool
    ) async throws(StoreError) -> Int64?
    /// Records what a run found (its first ``ReconcileRun/listedMissing`` missing events, and how many in
    /// all), keeping the newest ``ReconcileRun/kept`` runs.
    func finishReconcileRun(_ id: Int64, result: Reconciliation) async throws(StoreError)
    /// The newest reconciliation runs, newest first.
    func reconcileRuns(limit: Int) async throws(StoreError) -> [ReconcileRun]
    /// Creates one new pending delivery per step, marked as a replay; returns each new delivery's id, or
    /// nil when its event is no longer stored.
    func replay(_ plan: [ReplayStep]) async throws(StoreError) -> [DeliveryID?]

    /// Erases the personal data of the events `selection` takes (``Erasure``), in batches; a dry run only
    /// counts. Returns what changed (or would).
    func erase(_ selection: Erasure.Selection, reason: String, dryRun: Bool) async throws(StoreError)
        -> Erasure.Result
    /// Stored `com.gigs.user.deleted` events not erased yet, oldest first, at most `limit`.
    func userDeletions(limit: Int) async throws(StoreError) -> [Erasure.Deletion]

    /// One batch of `gigs-relay store encrypt` or `store rekey` (``Reseal``): up to ``Reseal/batchSize``
    /// rows of `table` after `cursor` moved to the console's current key as `mode` says, in one
    /// transaction.
    func reseal(_ table: Reseal.Table, after cursor: Int64, mode: Reseal.Mode) async throws(StoreError)
        -> Reseal.Batch
    /// Unlists every key but `keeping` from the keys the store needs (after a rekey sealed every row with
    /// it); returns how many were unlisted.
    func unlistKeys(keeping: String) async throws(StoreError) -> Int

    /// Closes the console's connections.
    func close() async
}

extension StoreConsole {
    /// The newest events first, optionally of one exact type, without bodies.
    public func events(type: String?, limit: Int) async throws(StoreError) -> [StoredEvent] {
        try await events(EventFilter(type: type, limit: limit))
    }
}
