/// A notifier action: what to do with one delivery.
///
/// Implementations never throw: every failure becomes an ``ActionOutcome`` with a short, secret-free
/// error. They stop promptly when their task is cancelled (timeout or shutdown).
public protocol DeliveryAction: Sendable {
    func perform(_ job: DeliveryJob) async -> ActionOutcome

    /// True when ``perform(_:)`` ends within the action's `timeout_seconds` by itself (for example by
    /// giving the HTTP client a deadline); otherwise the dispatcher races it against a timer.
    var enforcesTimeout: Bool { get }
}

extension DeliveryAction {
    public var enforcesTimeout: Bool { false }
}
