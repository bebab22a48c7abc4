/// A stored event a replay may take.
public struct ReplayCandidate: Sendable, Equatable {
    /// The store's sequence number of the event (its row).
    public let sequence: Int64
    public let id: EventID
    public let type: String
    /// The stored JSON (opened when the store seals it), for the routes' payload filters.
    public let body: [UInt8]

    public init(sequence: Int64, id: EventID, type: String, body: [UInt8]) {
        self.sequence = sequence
        self.id = id
        self.type = type
        self.body = body
    }

    /// Whether its payload was erased (``Erasure``): it is never replayed.
    public var isErased: Bool { Erasure.isTombstone(body) }

    /// This candidate with its body opened by `sealer`.
    func opened(by sealer: PayloadSealer) throws(StoreError) -> ReplayCandidate {
        ReplayCandidate(sequence: sequence, id: id, type: type, body: try sealer.openBody(body, of: id))
    }
}

/// One delivery a replay creates: an event (by its sequence number) to one action.
public struct ReplayStep: Sendable, Equatable {
    public let sequence: Int64
    public let action: String

    public init(sequence: Int64, action: String) {
        self.sequence = sequence
        self.action = action
    }
}
