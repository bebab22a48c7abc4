/// When and how often a failed delivery is tried again. Every key can be overridden per action.
public struct RetryPolicy: Sendable, Equatable {
    /// Attempts before a delivery is `dead`.
    public var maxAttempts: Int
    /// The delay before the second attempt.
    public var backoffInitialMilliseconds: Int
    /// The longest delay, also the cap on a `Retry-After`.
    public var backoffMaxMilliseconds: Int

    enum Keys {
        static let maxAttempts = ConfigKey.integer(
            "max_attempts", in: 1...1000, default: 8, reload: .applies, "attempts before a delivery is `dead`")
        static let backoffInitialMilliseconds = ConfigKey.integer(
            "backoff_initial_ms", in: 1...86_400_000, default: 1000, reload: .applies,
            "the delay before the second attempt; each later one doubles it, with jitter")
        static let backoffMaxMilliseconds = ConfigKey.integer(
            "backoff_max_ms", in: 1...604_800_000, default: 3_600_000, reload: .applies,
            "the longest delay, also the cap on a peer's `Retry-After`")
    }

    /// The retry keys: with their defaults in `[dispatch]`, inheriting `[dispatch]`'s values in an action.
    static func keys(inherited: Bool) -> [any ConfigKeyDescription] {
        let keys = [Keys.maxAttempts, Keys.backoffInitialMilliseconds, Keys.backoffMaxMilliseconds]
        return inherited ? keys.map { $0.inherited(from: "dispatch") } : keys
    }

    /// Every key at its declared default.
    public init() {
        maxAttempts = Keys.maxAttempts.declaredDefault
        backoffInitialMilliseconds = Keys.backoffInitialMilliseconds.declaredDefault
        backoffMaxMilliseconds = Keys.backoffMaxMilliseconds.declaredDefault
    }

    /// `[dispatch]`'s retry keys, with their defaults.
    init(section: TOMLSection) throws(ConfigurationError) {
        maxAttempts = try section.read(Keys.maxAttempts)
        backoffInitialMilliseconds = try section.read(Keys.backoffInitialMilliseconds)
        backoffMaxMilliseconds = try section.read(Keys.backoffMaxMilliseconds)
        try checkBackoff(section)
    }

    /// An action's retry keys: those it gives replace `self`'s.
    func overridden(by section: TOMLSection) throws(ConfigurationError) -> RetryPolicy {
        var policy = self
        policy.maxAttempts = try section.given(Keys.maxAttempts) ?? maxAttempts
        policy.backoffInitialMilliseconds =
            try section.given(Keys.backoffInitialMilliseconds) ?? backoffInitialMilliseconds
        policy.backoffMaxMilliseconds = try section.given(Keys.backoffMaxMilliseconds) ?? backoffMaxMilliseconds
        try policy.checkBackoff(section)
        return policy
    }

    private func checkBackoff(_ section: TOMLSection) throws(ConfigurationError) {
        guard backoffMaxMilliseconds >= backoffInitialMilliseconds else {
            throw ConfigurationError(
                key: section.key(Keys.backoffMaxMilliseconds), "must not be below backoff_initial_ms")
        }
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.maxAttempts.effective(maxAttempts),
            Keys.backoffInitialMilliseconds.effective(backoffInitialMilliseconds),
            Keys.backoffMaxMilliseconds.effective(backoffMaxMilliseconds),
        ]
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
