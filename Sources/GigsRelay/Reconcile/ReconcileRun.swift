/// What started a reconciliation run.
public enum ReconcileTrigger: String, Sendable, Codable {
    /// `[reconcile]` in the daemon.
    case schedule
    /// `gigs-relay reconcile`.
    case command
}

/// One reconciliation run as the store records it (`reconcile_runs`), for the console, the operator
/// API and the schedule: who ran it and when, and what it found once it finished.
public struct ReconcileRun: Sendable, Equatable {
    /// Runs the store keeps; older ones are removed as new ones finish.
    static let kept = 1000
    /// Missing events a run's record lists; its count says how many there were in all.
    package static let listedMissing = 100

    public var id: Int64
    public var trigger: ReconcileTrigger
    /// The host and process that ran it.
    public var instance: String
    /// Unix milliseconds.
    public var startedAt: Int64
    /// Unix milliseconds; nil while it runs (or when the process running it died).
    public var finishedAt: Int64?
    /// Missing events found, all of them (`result.missing` lists the first ``listedMissing``).
    public var missingCount: Int
    /// What it found; nil until it finishes.
    public var result: Reconciliation?

    public init(
        id: Int64, trigger: ReconcileTrigger, instance: String, startedAt: Int64, finishedAt: Int64? = nil,
        missingCount: Int = 0, result: Reconciliation? = nil
    ) {
        self.id = id
        self.trigger = trigger
        self.instance = instance
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.missingCount = missingCount
        self.result = result
    }

    /// Where it stands: `running`, `complete`, or `incomplete` (the API could not be read completely).
    public var state: String {
        guard let result else { return "running" }
        return result.incomplete == nil ? "complete" : "incomplete"
    }

    /// `result` as a record holds it: at most ``listedMissing`` missing events.
    static func recorded(_ result: Reconciliation) -> Reconciliation {
        var listed = result
        listed.missing = Array(result.missing.prefix(listedMissing))
        return listed
    }
}

extension ReconcileRun: Encodable {
    private enum CodingKeys: String, CodingKey {
        case id, trigger, instance, startedAt, finishedAt, state, missingCount, result
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(trigger, forKey: .trigger)
        try container.encode(instance, forKey: .instance)
        try container.encode(Timestamp.iso8601(milliseconds: startedAt), forKey: .startedAt)
        try container.encodeIfPresent(finishedAt.map(Timestamp.iso8601(milliseconds:)), forKey: .finishedAt)
        try container.encode(state, forKey: .state)
        try container.encode(missingCount, forKey: .missingCount)
        try container.encodeIfPresent(result, forKey: .result)
    }
}

/// When `[reconcile]`'s next run is due, from the last scheduled run any instance recorded.
public struct ReconcileSchedule: Sendable, Equatable {
    /// Between the starts of two complete runs.
    public var interval: Int64
    /// After an incomplete run, before the next try (grows with each failure in a row, up to `interval`).
    public var retry: Int64
    /// A run that has not finished this long after it started is taken for abandoned (its process died).
    public var abandonedAfter: Int64

    public init(interval: Int64, retry: Int64, abandonedAfter: Int64) {
        self.interval = interval
        self.retry = retry
        self.abandonedAfter = abandonedAfter
    }

    /// Whether a run is due at `now` after `last` (nil: no scheduled run yet).
    public func isDue(after last: ReconcileRun?, now: Int64) -> Bool {
        guard let last else { return true }
        guard let finished = last.finishedAt else { return now - last.startedAt >= abandonedAfter }
        if last.state == "incomplete" { return now - finished >= min(retry, interval) }
        return now - last.startedAt >= interval
    }
}
