extension DeliveryStatus {
    /// Not finished: waiting for an attempt, or running under a lease (which may have expired). The due
    /// indexes of both backends cover exactly these.
    static let unfinished: [DeliveryStatus] = [.pending, .failed, .running]
    /// Waiting for an attempt (not running).
    static let waiting: [DeliveryStatus] = [.pending, .failed]
    /// What the monitor and `gigs-relay actions` count: the unfinished and the dead.
    static let counted: [DeliveryStatus] = unfinished + [.dead]

    /// The statuses an event's deliveries must all have for retention or `prune` to remove it: finished
    /// for good, and with `includeDead` dead too.
    static func prunable(includeDead: Bool) -> [DeliveryStatus] {
        includeDead ? [.succeeded, .skipped, .dead] : [.succeeded, .skipped]
    }

    /// Whether the delivery will be attempted (again) or is being attempted.
    var isUnfinished: Bool { Self.unfinished.contains(self) }

    /// The status as a SQL literal, for statements written once for both backends.
    var sql: String { "'\(rawValue)'" }
}

extension [DeliveryStatus] {
    /// The statuses as a SQL list, for `status IN (…)`.
    var sql: String { map(\.sql).joined(separator: ", ") }
}
