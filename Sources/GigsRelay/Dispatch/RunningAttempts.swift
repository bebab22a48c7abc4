import NIOConcurrencyHelpers

/// Counts running attempts in total and per action, for the claim's limits.
final class RunningAttempts: Sendable {
    private let counts = NIOLockedValueBox<[String: Int]>([:])

    var total: Int { counts.withLockedValue { $0.values.reduce(0, +) } }

    func start(_ action: String) { counts.withLockedValue { $0[action, default: 0] += 1 } }

    func finish(_ action: String) { counts.withLockedValue { $0[action, default: 1] -= 1 } }

    /// Every configured action with its remaining room and attempt budget. The room is its
    /// `max_concurrency`, or by default every worker but one for each other action, less its running
    /// attempts. So one action that hangs or fails slowly never holds every worker: each other action keeps
    /// at least one (set `max_concurrency` to keep more). Deliveries of actions not configured (removed by
    /// a reload) are not claimed: they stay queued.
    func claimable(_ settings: [String: ActionConfiguration], workers: Int) -> [String: ClaimRequest.Action] {
        let defaultLimit = max(workers - (settings.count - 1), 1)
        return counts.withLockedValue { counts in
            var actions: [String: ClaimRequest.Action] = [:]
            for (name, action) in settings {
                actions[name] = ClaimRequest.Action(
                    room: max((action.maxConcurrency ?? defaultLimit) - counts[name, default: 0], 0),
                    maxAttempts: action.retry.maxAttempts,
                    ordered: action.ordering != nil,
                    deadBlocks: action.ordering?.deadBlocks ?? true
                )
            }
            return actions
        }
    }
}
