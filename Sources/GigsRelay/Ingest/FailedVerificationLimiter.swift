import NIOConcurrencyHelpers

/// Counts failed signature checks per client and refuses (429) a client that exceeded
/// `server.max_failed_verifications` within `server.failed_verification_window_seconds`, until its
/// window ends. Only failed requests are counted and refused: a correctly signed request is never asked
/// about (see ``WebhookController``).
///
/// Memory is bounded: at most ``maximumClients`` clients are tracked. When the map is full, expired
/// windows go first, then the oldest clients that are not blocked, and only then the oldest blocked
/// ones, a tenth of the map at a time: a flood of new addresses cannot lift every block at once.
final class FailedVerificationLimiter: Sendable {
    static let maximumClients = 10_000

    private struct Window {
        var started: Int64
        var failures: Int
    }

    private let limit: Int
    private let windowMilliseconds: Int64
    private let windows = NIOLockedValueBox<[String: Window]>([:])

    init(limit: Int, windowSeconds: Int) {
        self.limit = limit
        self.windowMilliseconds = Int64(windowSeconds) * 1000
    }

    /// How many clients are tracked now.
    var trackedClients: Int { windows.withLockedValue { $0.count } }

    /// Seconds until `client` may try again, or nil when it is not blocked.
    func blockedFor(_ client: String, now: Int64) -> Int? {
        windows.withLockedValue { windows in
            guard let window = windows[client], window.failures >= limit else { return nil }
            let left = window.started + windowMilliseconds - now
            guard left > 0 else {
                windows[client] = nil
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
            if windows.count >= Self.maximumClients { evict(from: &windows, now: now) }
            windows[client] = Window(started: now, failures: 1)
        }
    }

    /// Frees a tenth of the map: expired windows, then unblocked clients, then blocked ones, oldest first.
    private func evict(from windows: inout [String: Window], now: Int64) {
        windows = windows.filter { now - $0.value.started < windowMilliseconds }
        let target = Self.maximumClients - Self.maximumClients / 10
        guard windows.count > target else { return }
        let oldestFirst = windows.sorted { lhs, rhs in
            let lhsBlocked = lhs.value.failures >= limit
            let rhsBlocked = rhs.value.failures >= limit
            if lhsBlocked != rhsBlocked { return !lhsBlocked }
            return lhs.value.started < rhs.value.started
        }
        for (client, _) in oldestFirst.prefix(windows.count - target) { windows[client] = nil }
    }
}
