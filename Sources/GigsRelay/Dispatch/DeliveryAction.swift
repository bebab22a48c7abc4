/// How one attempt of an action ended, before retry policy is applied.
public enum ActionOutcome: Sendable, Equatable {
    /// Done. `output` is a bounded tail of what a command printed.
    case success(output: String? = nil)
    /// Failed in a way that may pass: try again (no sooner than `retryAfter`, when given).
    case retryable(error: String, retryAfter: Duration? = nil, output: String? = nil)
    /// Failed in a way that will not pass by retrying (for example HTTP 400): `dead` at once.
    case permanent(error: String, output: String? = nil)
    /// Does not apply to this event; never retried.
    case skipped(reason: String)
}

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

extension String {
    /// At most `limit` characters, marked when cut: attempt errors and outputs stay bounded.
    func bounded(_ limit: Int = 500) -> String {
        count <= limit ? self : String(prefix(limit)) + "…"
    }
}
