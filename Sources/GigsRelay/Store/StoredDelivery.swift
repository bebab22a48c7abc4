import Foundation

/// A delivery as the store holds it, for listings.
public struct StoredDelivery: Sendable, Equatable {
    public let id: DeliveryID
    public let eventID: EventID
    public let eventType: String
    public let action: String
    public let status: DeliveryStatus
    /// Attempts made so far (including one running).
    public let attempts: Int
    /// The last failure, bounded and secret-free.
    public let lastError: String?
    /// When it is due (pending, failed) or its lease ends (running); nil once finished.
    public let nextAttemptAt: Date?
    /// Whether `gigs-relay replay` created it.
    public let isReplay: Bool
    public let createdAt: Date
    public let updatedAt: Date
    /// The subject it is ordered by (`ordering = "subject"`), if any.
    public var subject: String? = nil
    /// Whether it went out of order: a later event of its subject had already been delivered.
    public var isOutOfOrder = false
}

/// One recorded attempt of a delivery.
public struct StoredAttempt: Sendable, Equatable {
    public let number: Int
    public let startedAt: Date
    public let durationMilliseconds: Int64
    /// `succeeded`, `failed`, `dead` or `skipped`.
    public let outcome: String
    public internal(set) var error: String?
    public internal(set) var output: String?

    /// This attempt of `delivery` with its error and output opened by `sealer`.
    func opened(by sealer: PayloadSealer, of delivery: DeliveryID) -> StoredAttempt {
        var opened = self
        opened.error = sealer.open(text: error, for: .delivery(delivery))
        opened.output = sealer.open(text: output, for: .delivery(delivery))
        return opened
    }
}

/// Filters for delivery listings.
public struct DeliveryFilter: Sendable {
    public var id: DeliveryID?
    public var status: DeliveryStatus?
    public var action: String?
    public var eventID: EventID?
    /// Only deliveries of events about this subject (the event's subject, such as its subscription),
    /// whether or not their action orders by it.
    public var subject: String?
    /// Created at or after this time.
    public var since: Date?
    /// The cursor: only deliveries older than this one (the last of the previous page).
    public var before: DeliveryID?
    public var limit: Int

    public init(
        id: DeliveryID? = nil,
        status: DeliveryStatus? = nil,
        action: String? = nil,
        eventID: EventID? = nil,
        subject: String? = nil,
        since: Date? = nil,
        before: DeliveryID? = nil,
        limit: Int = 50
    ) {
        self.id = id
        self.status = status
        self.action = action
        self.eventID = eventID
        self.subject = subject
        self.since = since
        self.before = before
        self.limit = limit
    }
}
