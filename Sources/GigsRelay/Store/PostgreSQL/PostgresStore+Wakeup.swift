import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Wake-ups across instances: a commit that created deliveries notifies every instance's dispatcher.
extension PostgresStore {
    /// The `LISTEN/NOTIFY` channel a commit that created deliveries notifies, after it commits: a hint
    /// that wakes every instance's dispatcher at once. Polling stays the backstop.
    static let wakeupChannel = "gigs_relay_deliveries"

    /// Holds one pooled connection listening on ``wakeupChannel`` and wakes the dispatcher for every
    /// notification (other instances' new deliveries); after a lost connection it listens again.
    func listenForDeliveries() async {
        let handOff = handOff
        while !Task.isCancelled {
            do {
                try await client.withConnection { connection in
                    try await connection.listen(on: Self.wakeupChannel) { notifications in
                        for try await _ in notifications { handOff.deliveriesQueued() }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug(
                    "Listening for new deliveries failed", metadata: [LogKey.error: "\(PostgresErrors.describe(error))"]
                )
            }
            try? await Task.sleep(for: .seconds(1))
        }
    }

    /// Sends `NOTIFY` on ``wakeupChannel`` after a commit that created deliveries, at most one at a time:
    /// notifications asked for while one is sent are folded into one more.
    func notifyOtherInstances() {
        let start = notifying.withLockedValue { state in
            guard !state.sending else {
                state.again = true
                return false
            }
            state.sending = true
            return true
        }
        guard start else { return }
        Task {
            while true {
                _ = try? await client.query("SELECT pg_notify(\(Self.wakeupChannel), '')", logger: logger)
                let more = notifying.withLockedValue { state in
                    defer { state.again = false }
                    state.sending = state.again
                    return state.again
                }
                if !more { return }
            }
        }
    }
}
