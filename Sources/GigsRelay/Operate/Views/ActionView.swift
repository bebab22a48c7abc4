/// An action as operators see it (`GET /api/v1/actions`, the console's overview, `actions --json`): its
/// kind, what operators set and the daemon reported, and its deliveries by state.
public struct ActionView: Codable, Sendable, Equatable {
    public var name: String
    /// The configured kind; null for an action with stored deliveries that is no longer configured.
    public var kind: String?
    public var paused: Bool
    public var pausedAt: String?
    public var circuit: String
    public var circuitSince: String?
    public var circuitError: String?
    public var inFlight: Int
    public var pending: Int
    public var dead: Int
    public var lastError: String?

    public init(_ summary: ActionSummary, kind: String?) {
        name = summary.action
        self.kind = kind
        paused = summary.isPaused
        pausedAt = summary.pausedAt.map { Timestamp.iso8601(milliseconds: $0) }
        circuit = summary.circuit.rawValue
        circuitSince = summary.circuitSince.map { Timestamp.iso8601(milliseconds: $0) }
        circuitError = summary.circuitError
        inFlight = summary.running
        pending = summary.waiting
        dead = summary.dead
        lastError = summary.lastError
    }

    /// Every configured action and every action with stored deliveries, by name: the store's summaries,
    /// an empty one for a configured action the store has nothing of.
    public static func all(_ summaries: [ActionSummary], configured: [String: ActionConfiguration]) -> [ActionView] {
        var byName = Dictionary(summaries.map { ($0.action, $0) }, uniquingKeysWith: { first, _ in first })
        for name in configured.keys where byName[name] == nil { byName[name] = ActionSummary(action: name) }
        return byName.keys.sorted().compactMap { name in
            byName[name].map { ActionView($0, kind: configured[name]?.kindName) }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encode(paused, forKey: .paused)
        try container.encode(pausedAt, forKey: .pausedAt)
        try container.encode(circuit, forKey: .circuit)
        try container.encode(circuitSince, forKey: .circuitSince)
        try container.encode(circuitError, forKey: .circuitError)
        try container.encode(inFlight, forKey: .inFlight)
        try container.encode(pending, forKey: .pending)
        try container.encode(dead, forKey: .dead)
        try container.encode(lastError, forKey: .lastError)
    }
}
