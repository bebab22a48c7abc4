/// A page of events, newest first; `next` is the cursor of the following page (`after=`), null on the
/// last one.
public struct EventPageView: Codable, Sendable, Equatable {
    public var events: [EventView]
    public var next: String?

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(events, forKey: .events)
        try container.encode(next, forKey: .next)
    }
}

/// A page of deliveries, newest first, with the cursor of the following page.
public struct DeliveryPageView: Codable, Sendable, Equatable {
    public var deliveries: [DeliveryView]
    public var next: String?

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(deliveries, forKey: .deliveries)
        try container.encode(next, forKey: .next)
    }
}

/// Every action.
public struct ActionListView: Codable, Sendable, Equatable {
    public var actions: [ActionView]
}

/// The newest reconciliation runs, newest first.
public struct ReconciliationListView: Encodable, Sendable, Equatable {
    public var runs: [ReconcileRun]
}

/// A delivery retried (now `pending`) or skipped.
public struct MovedDeliveryView: Codable, Sendable, Equatable {
    public var id: String
    public var status: String
}

/// The deliveries a replay created: one per action, `id` null where the event is no longer stored.
public struct ReplayView: Codable, Sendable, Equatable {
    public struct Created: Codable, Sendable, Equatable {
        public var action: String
        public var id: String?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(action, forKey: .action)
            try container.encode(id, forKey: .id)
        }
    }

    public var event: String
    public var deliveries: [Created]
}

/// An action paused or resumed; `changed` is false when it already was.
public struct PausedActionView: Codable, Sendable, Equatable {
    public var name: String
    public var paused: Bool
    public var changed: Bool
}
