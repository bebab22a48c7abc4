/// What one claim found.
public struct Claim: Sendable {
    public let jobs: [DeliveryJob]
    /// When the earliest unclaimed delivery becomes due (Unix ms), if any is waiting.
    public let nextDueAt: Int64?
    /// Deliveries whose last attempt never finished (the process died or hung past the lease) and that had
    /// no attempts left: the claim made them `dead` instead of running them again.
    public var poisoned: [PoisonedDelivery] = []
    /// The actions an operator paused (`gigs-relay actions pause`): the claim took none of their
    /// deliveries.
    public var paused: Set<String> = []
}

/// A delivery the claim found with an expired lease and an exhausted attempt budget, now `dead`.
public struct PoisonedDelivery: Sendable {
    /// The `lastError` both backends record: "attempt did not finish: lease expired N times (attempt N
    /// of M)", where `expirations` counts the expiry that poisoned it.
    static func error(expirations: Int64, attempts: Int, maxAttempts: Int) -> String {
        "attempt did not finish: lease expired \(expirations) time\(expirations == 1 ? "" : "s")"
            + " (attempt \(attempts) of \(maxAttempts))"
    }

    public let id: DeliveryID
    public let eventID: EventID
    public let action: String
    /// Attempts started, the unfinished one included.
    public let attempts: Int
    /// The error recorded as its `lastError`.
    public let error: String
}
