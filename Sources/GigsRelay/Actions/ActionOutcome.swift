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
