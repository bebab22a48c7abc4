import Foundation

/// An event as operators see it listed (the API, the console, `events list --json`): no body. Optional
/// fields are always present, `null` when unset, here as in every operator view.
public struct EventView: Codable, Sendable, Equatable {
    public var sequence: Int64
    public var id: String
    public var type: String
    public var receivedAt: String
    public var messageId: String
    public var project: String?
    public var time: String?
    public var subject: String?
    /// The Gigs user it is about (`data.user.id`, a `data.user` id, a user event's `data.id`).
    public var user: String?
    /// When its payload was erased (``Erasure``; its `event` is then a tombstone); null while it is whole.
    public var erasedAt: String?
    /// The OpenTelemetry trace its ingest began or joined (32 hex digits); null when it was not traced.
    public var traceId: String?
    /// Whether it is a reconciled stand-in (``StandIn``): reconstructed from the Gigs API by
    /// reconciliation (`gigs-relay reconcile --emit`, `[reconcile]`), not received. Its id says so.
    public var reconciled: Bool { StandIn.isStandIn(EventID(id)) }

    public init(_ event: StoredEvent) {
        sequence = event.sequence
        id = event.id.rawValue
        type = event.type
        receivedAt = Timestamp.iso8601(event.receivedAt)
        messageId = event.messageID
        project = event.project
        time = event.time
        subject = event.subject
        user = event.user
        erasedAt = event.erasedAt.map(Timestamp.iso8601)
        traceId = event.traceContext?.traceID
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sequence, forKey: .sequence)
        try container.encode(id, forKey: .id)
        try container.encode(type, forKey: .type)
        try container.encode(receivedAt, forKey: .receivedAt)
        try container.encode(messageId, forKey: .messageId)
        try container.encode(project, forKey: .project)
        try container.encode(time, forKey: .time)
        try container.encode(subject, forKey: .subject)
        try container.encode(user, forKey: .user)
        try container.encode(erasedAt, forKey: .erasedAt)
        try container.encode(traceId, forKey: .traceId)
        var derived = encoder.container(keyedBy: DerivedKeys.self)
        try derived.encode(reconciled, forKey: .reconciled)
    }

    /// What is written but not stored (decoding derives it again).
    private enum DerivedKeys: String, CodingKey {
        case reconciled
    }
}

/// One event whole (the API's `GET /events/ID`, the console's event page, `events show --json`): the
/// listed fields, the verified `webhook-timestamp`, the stored JSON as `event` (its text when it is not
/// JSON), the routes it matches now and its deliveries with every attempt, and `supersededBy`: the id of
/// its reconciled stand-in when that was stored first (then this event was kept but not dispatched).
public struct EventDetailView: Codable, Sendable, Equatable {
    public var summary: EventView
    public var webhookTimestamp: Int64
    public var supersededBy: String?
    public var event: JSONValue
    public var routes: [RouteMatchView]
    public var deliveries: [DeliveryDetailView]

    /// - Parameter redact: `admin.redact`, the payload fields masked (the API and console).
    public init(
        _ stored: StoredEvent,
        redact: [JSONPointer] = [],
        routes: [RouteMatchView],
        deliveries: [DeliveryDetailView],
        supersededBy: String? = nil
    ) {
        self.init(
            stored, payload: JSONValue(parsing: stored.body), redact: redact, routes: routes, deliveries: deliveries,
            supersededBy: supersededBy)
    }

    /// With the stored body already parsed (nil when it is not JSON).
    private init(
        _ stored: StoredEvent, payload: JSONValue?, redact: [JSONPointer], routes: [RouteMatchView],
        deliveries: [DeliveryDetailView], supersededBy: String?
    ) {
        summary = EventView(stored)
        webhookTimestamp = stored.webhookTimestamp
        self.supersededBy = supersededBy
        event = payload?.masking(redact) ?? .string(String(decoding: stored.body, as: UTF8.self))
        self.routes = routes
        self.deliveries = deliveries
    }

    /// Reads the event's deliveries and attempts from `console` and matches it against `routes`.
    public static func load(
        _ stored: StoredEvent,
        console: any StoreConsole,
        routes: [RouteConfiguration],
        redact: [JSONPointer] = [],
        limit: Int = 1000
    ) async throws(StoreError) -> EventDetailView {
        var deliveries: [DeliveryDetailView] = []
        for delivery in try await console.deliveries(DeliveryFilter(eventID: stored.id, limit: limit)) {
            deliveries.append(DeliveryDetailView(delivery, attempts: try await console.attempts(of: delivery.id)))
        }
        let matches = routes.matching(type: stored.type, body: stored.body).map { index in
            RouteMatchView(route: index + 1, actions: routes[index].actions)
        }
        // The body is parsed once, for the view and for the stand-in's id.
        let payload = JSONValue(parsing: stored.body)
        var supersededBy: String?
        if !StandIn.isStandIn(stored.id), StandIn.recoverableTypes.contains(stored.type),
            let resource = payload?["data"]?["id"]?.string
        {
            let standIn = StandIn.id(type: stored.type, resource: resource)
            if try await console.event(id: standIn) != nil { supersededBy = standIn.rawValue }
        }
        return EventDetailView(
            stored, payload: payload, redact: redact, routes: matches, deliveries: deliveries,
            supersededBy: supersededBy)
    }

    private enum CodingKeys: String, CodingKey {
        case webhookTimestamp, supersededBy, event, routes, deliveries
    }

    public init(from decoder: any Decoder) throws {
        summary = try EventView(from: decoder)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        webhookTimestamp = try container.decode(Int64.self, forKey: .webhookTimestamp)
        supersededBy = try container.decodeIfPresent(String.self, forKey: .supersededBy)
        event = try container.decode(JSONValue.self, forKey: .event)
        routes = try container.decode([RouteMatchView].self, forKey: .routes)
        deliveries = try container.decode([DeliveryDetailView].self, forKey: .deliveries)
    }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(webhookTimestamp, forKey: .webhookTimestamp)
        try container.encode(supersededBy, forKey: .supersededBy)
        try container.encode(event, forKey: .event)
        try container.encode(routes, forKey: .routes)
        try container.encode(deliveries, forKey: .deliveries)
    }
}

/// A route an event matches: its number in the file (from 1) and its actions.
public struct RouteMatchView: Codable, Sendable, Equatable {
    public var route: Int
    public var actions: [String]
}
