import NIOConcurrencyHelpers

/// The `STATUS=` text systemd shows in `systemctl status`: where the daemon listens and what the store
/// holds, e.g. `Listening on 127.0.0.1:8080; 1204 events received, 3 deliveries pending, 0 dead`.
final class StatusLine: Sendable {
    private struct State {
        var address = ""
        var counts = ""
    }

    private let state = NIOLockedValueBox(State())

    /// The line once the listener is bound.
    func listening(on address: String) -> String {
        state.withLockedValue { state in
            state.address = address
            return Self.render(state)
        }
    }

    /// The line as it stands.
    var current: String { state.withLockedValue { Self.render($0) } }

    /// The new line when the counts changed, else nil (nothing to send).
    func update(_ stats: StoreStats) -> String? {
        let counts =
            "\(stats.eventsReceived) events received, \(stats.pendingDeliveries) deliveries pending, \(stats.deadDeliveries) dead"
        return state.withLockedValue { state in
            guard state.counts != counts, !state.address.isEmpty else { return nil }
            state.counts = counts
            return Self.render(state)
        }
    }

    private static func render(_ state: State) -> String {
        state.counts.isEmpty ? "Listening on \(state.address)" : "Listening on \(state.address); \(state.counts)"
    }
}
