/// When and how often a failed delivery is tried again. Every key can be overridden per action.
public struct RetryPolicy: Sendable, Equatable {
    /// `max_attempts`: attempts before a delivery is `dead`.
    public var maxAttempts = 8
    /// `backoff_initial_ms`: the delay before the second attempt.
    public var backoffInitialMilliseconds = 1000
    /// `backoff_max_ms`: the longest delay, also the cap on a `Retry-After`.
    public var backoffMaxMilliseconds = 3_600_000

    public init() {}

    /// Reads the retry keys present in `section`, keeping `self` for the others.
    func overridden(by section: TOMLSection) throws(ConfigurationError) -> RetryPolicy {
        var policy = self
        if let value = try section.integer("max_attempts", in: 1...1000) { policy.maxAttempts = value }
        if let value = try section.integer("backoff_initial_ms", in: 1...86_400_000) {
            policy.backoffInitialMilliseconds = value
        }
        if let value = try section.integer("backoff_max_ms", in: 1...604_800_000) {
            policy.backoffMaxMilliseconds = value
        }
        guard policy.backoffMaxMilliseconds >= policy.backoffInitialMilliseconds else {
            throw ConfigurationError(key: section.key("backoff_max_ms"), "must not be below backoff_initial_ms")
        }
        return policy
    }

    /// The delay before attempt `attempt + 1` after attempt `attempt` failed: exponential from the
    /// initial delay, capped, with jitter between half and all of it; never below `retryAfter` (itself
    /// capped at the maximum).
    public func delay(afterAttempt attempt: Int, retryAfter: Duration? = nil, jitter: Double = .random(in: 0...1))
        -> Duration
    {
        let exponent = min(max(attempt - 1, 0), 40)
        let base = min(Double(backoffInitialMilliseconds) * pow2(exponent), Double(backoffMaxMilliseconds))
        var milliseconds = base / 2 + base / 2 * min(max(jitter, 0), 1)
        if let retryAfter {
            milliseconds = max(milliseconds, min(Double(retryAfter.wholeMilliseconds), Double(backoffMaxMilliseconds)))
        }
        return .milliseconds(Int64(milliseconds.rounded()))
    }

    private func pow2(_ exponent: Int) -> Double {
        Double(sign: .plus, exponent: exponent, significand: 1)
    }
}
