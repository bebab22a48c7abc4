/// Where gigs-relay reads the time.
///
/// One clock is made at start-up and handed to the dispatcher, both stores, retention, the console,
/// the operator API and monitoring; tests hand a manual clock (`ManualClock` in `GigsRelayTesting`)
/// and advance it instead of sleeping, so "nothing happened yet" is a fact about the clock, not about
/// a scheduler being slow.
public protocol RelayClock: Sendable {
    /// Unix milliseconds: what the store records and compares (due times, leases, ages, sessions).
    var now: Int64 { get }
    /// A monotonic instant: what rates, circuit breakers and attempt durations measure.
    var instant: ContinuousClock.Instant { get }
}

/// The machine's clocks.
public struct SystemClock: RelayClock {
    public init() {}

    public var now: Int64 { unixMilliseconds() }
    public var instant: ContinuousClock.Instant { .now }
}
