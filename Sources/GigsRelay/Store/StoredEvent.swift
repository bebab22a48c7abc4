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
    /// The raw body exactly as received; empty in listings, which leave bodies out.
    public let body: [UInt8]
}
