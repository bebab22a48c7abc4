import NIOConcurrencyHelpers
import Synchronization

/// Counts failed signature checks per client and refuses (429) a client that exceeded
/// `server.max_failed_verifications` within `server.failed_verification_window_seconds`, until its
/// window ends. Memory is bounded: at most ``maximumClients`` clients are tracked.
final class FailedVerificationLimiter: Sendable {
    static let maximumClients = 10_000

    private struct Window {
        var started: Int64
        var failures: Int
    }

    private let limit: Int
    private let windowMilliseconds: Int64
    private let windows = NIOLockedValueBox<[String: Window]>([:])
    /// Whether any client is tracked: read without the lock on every request.
    private let tracking = Atomic(false)

    init(limit: Int, windowSeconds: Int) {
        self.limit = limit
        self.windowMilliseconds = Int64(windowSeconds) * 1000
    }

    /// Whether any client has failed lately; when not, no client can be blocked.
    var isTracking: Bool { tracking.load(ordering: .relaxed) }

    /// Seconds until `client` may try again, or nil when it is not blocked.
    func blockedFor(_ client: String, now: Int64) -> Int? {
        windows.withLockedValue { windows in
            guard let window = windows[client], window.failures >= limit else { return nil }
            let left = window.started + windowMilliseconds - now
            guard left > 0 else {
                windows[client] = nil
                tracking.store(!windows.isEmpty, ordering: .relaxed)
                return nil
            }
            return Int((left + 999) / 1000)
        }
    }

    /// Records one failed verification by `client`.
    func recordFailure(_ client: String, now: Int64) {
        windows.withLockedValue { windows in
            if var window = windows[client], now - window.started < windowMilliseconds {
                window.failures += 1
                windows[client] = window
                return
            }
            if windows.count >= Self.maximumClients {
                windows = windows.filter { now - $0.value.started < windowMilliseconds }
                if windows.count >= Self.maximumClients { windows.removeAll() }
            }
            windows[client] = Window(started: now, failures: 1)
            tracking.store(true, ordering: .relaxed)
        }
    }
}
