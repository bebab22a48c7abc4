/// A token bucket: `perSecond` tokens a second, at most `burst` saved up.
public struct RateLimit: Sendable, Equatable {
    public let perSecond: Double
    public let burst: Int
}

/// A circuit breaker: open after `failures` failed attempts in a row, probe after `cooldownSeconds`.
public struct CircuitBreakerSettings: Sendable, Equatable {
    public let failures: Int
    public let cooldownSeconds: Int
}
