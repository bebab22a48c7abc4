/// A circuit breaker's state (see `Dispatch/FlowControl.swift`).
public enum CircuitState: String, Sendable, CaseIterable {
    /// Attempts go as usual.
    case closed
    /// Too many attempts in a row failed: deliveries wait, without spending attempts, until the cooldown
    /// ends.
    case open
    /// The cooldown ended: one probe attempt goes; its success closes the circuit, its failure opens it
    /// again.
    case halfOpen = "half-open"
}

/// A circuit breaker's change of state, recorded in the store for `gigs-relay actions`.
public struct CircuitChange: Sendable, Equatable {
    public let action: String
    public let state: CircuitState
    /// When it changed (Unix ms).
    public let at: Int64
    /// The last failure's error when it opened; nil otherwise.
    public let error: String?

    public init(action: String, state: CircuitState, at: Int64, error: String?) {
        self.action = action
        self.state = state
        self.at = at
        self.error = error
    }
}

/// One action as `gigs-relay actions` shows it: what operators set and the daemon reported, and the
/// store's counts of its deliveries.
public struct ActionSummary: Sendable, Equatable {
    public let action: String
    /// Paused by an operator, and since when (Unix ms).
    public var pausedAt: Int64?
    /// The circuit's last recorded state, when it changed (Unix ms) and why it opened.
    public var circuit: CircuitState = .closed
    public var circuitSince: Int64?
    public var circuitError: String?
    /// Deliveries by status: running (in flight on any instance), pending or failed (waiting), dead.
    public var running = 0
    public var waiting = 0
    public var dead = 0
    /// The `lastError` of its most recently failed or dead delivery.
    public var lastError: String?

    public init(action: String) {
        self.action = action
    }

    public var isPaused: Bool { pausedAt != nil }

    /// Adds a count of deliveries in `status` (as the store names it).
    mutating func add(_ count: Int, status: String) {
        switch DeliveryStatus(rawValue: status) {
        case .running?: running += count
        case .pending?, .failed?: waiting += count
        case .dead?: dead += count
        default: break
        }
    }
}

/// Ordered subjects held by a dead delivery, with deliveries waiting behind it.
public struct BlockedSubjects: Sendable, Equatable {
    public var count = 0
    /// When the oldest holding delivery died (Unix ms).
    public var oldestSince: Int64?

    public init(count: Int = 0, oldestSince: Int64? = nil) {
        self.count = count
        self.oldestSince = oldestSince
    }
}
