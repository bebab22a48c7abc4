import Foundation

/// A delivery as operators see it listed. One that a dead delivery holds (an ordered subject) has status
/// `blocked` and names the dead one in `blockedBy`.
public struct DeliveryView: Codable, Sendable, Equatable {
    public var id: String
    public var eventId: String
    public var eventType: String
    public var action: String
    public var status: String
    public var blockedBy: String?
    /// The subject it is ordered by (`ordering = "subject"`), if any.
    public var subject: String?
    public var outOfOrder: Bool
    public var attemptCount: Int
    public var lastError: String?
    public var nextAttemptAt: String?
    public var replay: Bool
    public var createdAt: String
    public var updatedAt: String

    /// The status listings use for a delivery a dead one holds.
    public static let blockedStatus = "blocked"

    public init(_ delivery: StoredDelivery, blockedBy: DeliveryID? = nil) {
        id = delivery.id.description
        eventId = delivery.eventID.rawValue
        eventType = delivery.eventType
        action = delivery.action
        status = blockedBy == nil ? delivery.status.rawValue : Self.blockedStatus
        self.blockedBy = blockedBy?.description
        subject = delivery.subject
        outOfOrder = delivery.isOutOfOrder
        attemptCount = delivery.attempts
        lastError = delivery.lastError
        nextAttemptAt = delivery.nextAttemptAt.map(Timestamp.iso8601)
        replay = delivery.isReplay
        createdAt = Timestamp.iso8601(delivery.createdAt)
        updatedAt = Timestamp.iso8601(delivery.updatedAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(eventId, forKey: .eventId)
        try container.encode(eventType, forKey: .eventType)
        try container.encode(action, forKey: .action)
        try container.encode(status, forKey: .status)
        try container.encode(blockedBy, forKey: .blockedBy)
        try container.encode(subject, forKey: .subject)
        try container.encode(outOfOrder, forKey: .outOfOrder)
        try container.encode(attemptCount, forKey: .attemptCount)
        try container.encode(lastError, forKey: .lastError)
        try container.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try container.encode(replay, forKey: .replay)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// A delivery with every attempt, oldest first.
public struct DeliveryDetailView: Codable, Sendable, Equatable {
    public var summary: DeliveryView
    public var attempts: [AttemptView]

    public init(_ delivery: StoredDelivery, attempts: [StoredAttempt], blockedBy: DeliveryID? = nil) {
        summary = DeliveryView(delivery, blockedBy: blockedBy)
        self.attempts = attempts.map(AttemptView.init)
    }

    private enum CodingKeys: String, CodingKey {
        case attempts
    }

    public init(from decoder: any Decoder) throws {
        summary = try DeliveryView(from: decoder)
        attempts = try decoder.container(keyedBy: CodingKeys.self).decode([AttemptView].self, forKey: .attempts)
    }

    public func encode(to encoder: any Encoder) throws {
        try summary.encode(to: encoder)
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(attempts, forKey: .attempts)
    }
}

/// One recorded attempt of a delivery.
public struct AttemptView: Codable, Sendable, Equatable {
    public var number: Int
    public var startedAt: String
    public var durationMs: Int64
    public var outcome: String
    public var error: String?
    public var output: String?

    public init(_ attempt: StoredAttempt) {
        number = attempt.number
        startedAt = Timestamp.iso8601(attempt.startedAt)
        durationMs = attempt.durationMilliseconds
        outcome = attempt.outcome
        error = attempt.error
        output = attempt.output
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(number, forKey: .number)
        try container.encode(startedAt, forKey: .startedAt)
        try container.encode(durationMs, forKey: .durationMs)
        try container.encode(outcome, forKey: .outcome)
        try container.encode(error, forKey: .error)
        try container.encode(output, forKey: .output)
    }
}
