/// `[dispatch]`: the workers that carry stored events to their actions.
public struct DispatchConfiguration: Sendable {
    /// `dispatch.workers`: deliveries attempted at once.
    public var workers = 8
    /// `dispatch.lease_seconds`: how long a claimed delivery stays claimed; after a crash it is claimed
    /// again once its lease has expired. Must exceed every action's timeout.
    public var leaseSeconds = 60
    /// `dispatch.shutdown_grace_seconds`: how long running attempts may finish at shutdown before they are
    /// interrupted and released.
    public var shutdownGraceSeconds = 10
    /// Retry defaults every action inherits.
    public var retry = RetryPolicy()
}
