import Foundation

/// An event as the log holds it.
public struct StoredEvent: Sendable, Equatable {
    /// Position in the append-only log (1, 2, 3, …).
    public let sequence: Int64
    public let id: EventID
    public let type: String
    public let project: String?
    /// The event's own `time` field as sent.
    public let time: String?
    /// When gigs-relay stored it.
    public let receivedAt: Date
    /// The `webhook-id` (message id) of the delivery that brought it.
    public let messageID: String
    /// The `webhook-timestamp` of that delivery.
    public let webhookTimestamp: Int64
    /// The raw body exactly as received (opened when the store seals it); empty in listings, which leave
    /// bodies out.
    public internal(set) var body: [UInt8]
    /// What it is about (`data.subscription`, else `data.id`); nil when it has none, or was stored before
    /// migration `0008_event_subjects`.
    public var subject: String? = nil
    /// The Gigs user it is about (``EventEnvelope/userPointers``); nil when it names none, or was stored
    /// before migration `0012_event_users_and_erasure`.
    public var user: String? = nil
    /// When its payload was erased (``Erasure``): its body is then a tombstone. Nil while it is whole.
    public var erasedAt: Date? = nil
    /// The trace its ingest span began or joined (``TraceContext``); nil when it was not traced.
    public var traceContext: TraceContext? = nil

    /// This event with its body opened by `sealer` (``PayloadSealer``): a sealed body that does not open
    /// is a read error naming the event and the key id.
    func opened(by sealer: PayloadSealer) throws(StoreError) -> StoredEvent {
        var opened = self
        opened.body = try sealer.openBody(body, of: id)
        return opened
    }
}

/// Filters and cursor for event listings, newest first.
public struct EventFilter: Sendable, Equatable {
    /// Only this exact type.
    public var type: String?
    /// Only events about this subscription, group, … (their `subject`).
    public var subject: String?
    /// Only events about this Gigs user (their `user`).
    public var user: String?
    /// Only events whose id starts with this (compared byte for byte).
    public var idPrefix: String?
    /// Received at or after this time.
    public var since: Date?
    /// Received before this time.
    public var until: Date?
    /// The cursor: only events older than this sequence number (the last one of the previous page).
    public var before: Int64?
    public var limit: Int

    public init(
        type: String? = nil,
        subject: String? = nil,
        user: String? = nil,
        idPrefix: String? = nil,
        since: Date? = nil,
        until: Date? = nil,
        before: Int64? = nil,
        limit: Int = 50
    ) {
        self.type = type
        self.subject = subject
        self.user = user
        self.idPrefix = idPrefix
        self.since = since
        self.until = until
        self.before = before
        self.limit = limit
    }
}
