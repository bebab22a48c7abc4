import GigsRelay
import NIOConcurrencyHelpers

/// A clock that moves only when a test advances it: a test of "not yet" advances it to just before the
/// moment and checks, instead of sleeping and hoping the scheduler was not merely slow.
public final class ManualClock: RelayClock {
    private struct Reading {
        var now: Int64
        var instant: ContinuousClock.Instant
    }

    private let reading: NIOLockedValueBox<Reading>

    /// - Parameter now: the starting time in Unix milliseconds (default: the real time now).
    public init(now: Int64 = SystemClock().now) {
        self.reading = NIOLockedValueBox(Reading(now: now, instant: .now))
    }

    public var now: Int64 { reading.withLockedValue { $0.now } }
    public var instant: ContinuousClock.Instant { reading.withLockedValue { $0.instant } }

    /// Moves both the wall clock and the monotonic clock forward.
    public func advance(by duration: Duration) {
        reading.withLockedValue {
            $0.now += duration.wholeMilliseconds
            $0.instant += duration
        }
    }
}
