import NIOConcurrencyHelpers

/// Per-action flow control in this instance: a token bucket (`rate_per_second`, `rate_burst`) and a
/// circuit breaker (`circuit_failures`, `circuit_cooldown_seconds`).
///
/// Both only lower how many deliveries a claim may take: a delivery that waits for a token or for a
/// closed circuit is not claimed, so it spends no attempt. With several instances each has its own
/// bucket and breaker, as with `max_concurrency`.
final class FlowControl: Sendable {
    /// A change of circuit state, to be logged, counted and recorded once.
    struct Transition: Equatable {
        let action: String
        let from: CircuitState
        let to: CircuitState
        /// The failure that opened it.
        let error: String?
    }

    private struct ActionFlow {
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
        var failures = 0
        var circuit = CircuitState.closed
        var openedAt: ContinuousClock.Instant?
        /// Whether the half-open circuit's one probe has been claimed and not finished.
        var probing = false
    }

    private let flows = NIOLockedValueBox<[String: ActionFlow]>([:])

    /// What ``limit(_:settings:now:)`` allows.
    struct Limits {
        /// Each action's room, lowered by its bucket and circuit.
        var actions: [String: ClaimRequest.Action]
        /// When the earliest open circuit's cooldown ends.
        var retryAt: ContinuousClock.Instant?
        /// For each action whose bucket lowered its room: when its next token comes. The claim loop waits
        /// for it only when the claim used all that room (more may be due), so an idle, rate-limited
        /// action costs no claims.
        var nextToken: [String: ContinuousClock.Instant] = [:]
        /// The actions flow control does not hold back now and cannot without a transition: no bucket,
        /// and no circuit or a closed one. A finished attempt of theirs frees exactly one unit of room.
        var unthrottled: Set<String> = []
        var transitions: [Transition] = []
    }

    /// How many deliveries of each action may start now: the claim's room lowered by the token bucket
    /// and the circuit, and when held-back actions may start more. Moves an open circuit whose cooldown
    /// ended to half-open (returned, to be reported).
    func limit(
        _ actions: [String: ClaimRequest.Action],
        settings: [String: ActionConfiguration],
        now: ContinuousClock.Instant
    ) -> Limits {
        flows.withLockedValue { flows in
            var limited = actions
            var retryAt: ContinuousClock.Instant?
            var nextToken: [String: ContinuousClock.Instant] = [:]
            var transitions: [Transition] = []
            var unthrottled: Set<String> = []
            func wake(at instant: ContinuousClock.Instant) { retryAt = min(instant, retryAt ?? instant) }
            for (name, action) in actions {
                guard let configuration = settings[name], configuration.rate != nil || configuration.circuit != nil
                else {
                    unthrottled.insert(name)
                    continue
                }
                var flow = flows[name] ?? ActionFlow(tokens: Double(configuration.rate?.burst ?? 0), refilledAt: now)
                var room = action.room
                if let circuit = configuration.circuit {
                    if flow.circuit == .open, let opened = flow.openedAt {
                        let reopensAt = opened.advanced(by: .seconds(circuit.cooldownSeconds))
                        if now >= reopensAt {
                            flow.circuit = .halfOpen
                            flow.probing = false
                            transitions.append(Transition(action: name, from: .open, to: .halfOpen, error: nil))
                        } else {
                            wake(at: reopensAt)
                        }
                    }
                    switch flow.circuit {
                    case .closed: break
                    case .open: room = 0
                    case .halfOpen: room = flow.probing ? 0 : min(room, 1)
                    }
                }
                if let rate = configuration.rate {
                    let elapsed = now - flow.refilledAt
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                    flow.tokens = min(Double(rate.burst), flow.tokens + max(seconds, 0) * rate.perSecond)
                    flow.refilledAt = now
                    let whole = Int(flow.tokens.rounded(.down))
                    if whole < room {
                        room = max(whole, 0)
                        // The next whole token.
                        let wait = (1 - (flow.tokens - Double(whole))) / rate.perSecond
                        nextToken[name] = now.advanced(by: .milliseconds(Int64((wait * 1000).rounded(.up))))
                    }
                }
                flows[name] = flow
                limited[name]?.room = room
                if configuration.rate == nil && flow.circuit == .closed { unthrottled.insert(name) }
            }
            return Limits(
                actions: limited, retryAt: retryAt, nextToken: nextToken, unthrottled: unthrottled,
                transitions: transitions)
        }
    }

    /// Spends a token per claimed delivery and marks a half-open circuit's probe as taken.
    func started(_ action: String, count: Int) {
        flows.withLockedValue { flows in
            guard var flow = flows[action] else { return }
            flow.tokens -= Double(count)
            if flow.circuit == .halfOpen { flow.probing = true }
            flows[action] = flow
        }
    }

    /// Counts an attempt's end: a success closes the circuit, `circuit_failures` failures in a row open
    /// it, a failed probe opens it again. Returns the change, if any.
    func finished(
        _ action: String,
        outcome: AttemptOutcome,
        settings: ActionConfiguration?,
        now: ContinuousClock.Instant
    ) -> Transition? {
        guard let circuit = settings?.circuit else { return nil }
        return flows.withLockedValue { flows in
            var flow = flows[action] ?? ActionFlow(tokens: Double(settings?.rate?.burst ?? 0), refilledAt: now)
            defer { flows[action] = flow }
            let before = flow.circuit
            switch outcome {
            case .succeeded, .skipped:
                flow.failures = 0
                flow.probing = false
                flow.circuit = .closed
                flow.openedAt = nil
            case .retry(let error, _), .dead(let error):
                flow.failures += 1
                let probeFailed = before == .halfOpen && flow.probing
                flow.probing = false
                if probeFailed || (before == .closed && flow.failures >= circuit.failures) {
                    flow.circuit = .open
                    flow.openedAt = now
                    return Transition(action: action, from: before, to: .open, error: error)
                }
                return nil
            case .released:
                // Interrupted, not answered: says nothing of the peer.
                if before == .halfOpen { flow.probing = false }
                return nil
            }
            return before == flow.circuit ? nil : Transition(action: action, from: before, to: flow.circuit, error: nil)
        }
    }
}
