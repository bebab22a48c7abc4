/// Where a delivery stands.
public enum DeliveryStatus: String, Sendable, CaseIterable {
    /// Waiting for its first attempt (or released at shutdown).
    case pending
    /// Claimed by a worker under a lease.
    case running
    /// Done.
    case succeeded
    /// Failed; will be tried again at its next attempt time.
    case failed
    /// Failed permanently or ran out of attempts; an operator can retry it.
    case dead
    /// Not applicable (for example a pSIM for install links); never retried.
    case skipped
}
