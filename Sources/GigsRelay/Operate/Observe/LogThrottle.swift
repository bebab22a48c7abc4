import Logging
import NIOConcurrencyHelpers

/// Lets at most `limit` log records through per interval and counts the rest, so a client sending
/// bad requests (forged signatures, wrong content types) cannot flood the journal.
final class LogThrottle: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var logged = 0
        var suppressed = 0
    }

    private let limit: Int
    private let interval: Duration
    private let window: NIOLockedValueBox<Window>

    init(limit: Int = 10, interval: Duration = .seconds(10)) {
        self.limit = limit
        self.interval = interval
        self.window = NIOLockedValueBox(Window(start: .now))
    }

    /// Logs unless this window's quota is used; the first record of a new window reports how many were
    /// suppressed before it.
    func log(logger: Logger, level: Logger.Level, _ message: Logger.Message, metadata: Logger.Metadata) {
        let now = ContinuousClock.now
        let decision: (log: Bool, suppressed: Int) = window.withLockedValue { window in
            var suppressedBefore = 0
            if now - window.start >= interval {
                suppressedBefore = window.suppressed
                window = Window(start: now)
            }
            guard window.logged < limit else {
                window.suppressed += 1
                return (false, 0)
            }
            window.logged += 1
            return (true, suppressedBefore)
        }
        guard decision.log else { return }
        var metadata = metadata
        if decision.suppressed > 0 { metadata[LogKey.suppressed] = "\(decision.suppressed)" }
        logger.log(level: level, message, metadata: metadata)
    }
}
