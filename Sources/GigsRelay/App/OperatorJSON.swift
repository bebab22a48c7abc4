import Foundation

/// The one JSON shape of events, deliveries and attempts: the operator API, the console and the CLI's
/// `--json` all build their objects here. Optional fields are always present, `null` when unset.
public enum OperatorJSON {
    /// A UTC ISO 8601 time with milliseconds (`2026-11-27T10:00:00.000Z`).
    public static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    /// An event as listed: no body.
    public static func event(_ event: StoredEvent) -> [String: Any] {
        [
            "sequence": event.sequence, "id": event.id.rawValue, "type": event.type,
            "receivedAt": timestamp(event.receivedAt), "messageId": event.messageID,
            "project": event.project ?? NSNull(), "time": event.time ?? NSNull(), "subject": event.subject ?? NSNull(),
        ]
    }

    /// An event with its delivery's `webhookTimestamp` and the stored JSON as `event` (the raw text when
    /// it is not JSON), passed through `transform` (the API's redaction).
    public static func eventDetail(_ stored: StoredEvent, transform: (Any) -> Any = { $0 }) -> [String: Any] {
        var object = event(stored)
        object["webhookTimestamp"] = stored.webhookTimestamp
        object["event"] =
            (try? JSONSerialization.jsonObject(with: Data(stored.body), options: [.fragmentsAllowed])).map(transform)
            ?? String(decoding: stored.body, as: UTF8.self)
        return object
    }

    /// A delivery as listed; one a dead delivery holds (ordered subjects) has status `blocked` and
    /// `blockedBy`.
    public static func delivery(_ delivery: StoredDelivery, blockedBy: DeliveryID? = nil) -> [String: Any] {
        [
            "id": delivery.id.description, "eventId": delivery.eventID.rawValue, "eventType": delivery.eventType,
            "action": delivery.action, "status": blockedBy == nil ? delivery.status.rawValue : "blocked",
            "blockedBy": blockedBy?.description ?? NSNull(), "subject": delivery.subject ?? NSNull(),
            "outOfOrder": delivery.isOutOfOrder, "attemptCount": delivery.attempts,
            "lastError": delivery.lastError ?? NSNull(),
            "nextAttemptAt": delivery.nextAttemptAt.map(timestamp) ?? NSNull(), "replay": delivery.isReplay,
            "createdAt": timestamp(delivery.createdAt), "updatedAt": timestamp(delivery.updatedAt),
        ]
    }

    /// A delivery with every attempt, oldest first, as `attempts`.
    public static func deliveryDetail(
        _ stored: StoredDelivery,
        attempts: [StoredAttempt],
        blockedBy: DeliveryID? = nil
    ) -> [String: Any] {
        var object = delivery(stored, blockedBy: blockedBy)
        object["attempts"] = attempts.map(attempt)
        return object
    }

    /// One recorded attempt.
    public static func attempt(_ attempt: StoredAttempt) -> [String: Any] {
        [
            "number": attempt.number, "startedAt": timestamp(attempt.startedAt),
            "durationMs": attempt.durationMilliseconds, "outcome": attempt.outcome,
            "error": attempt.error ?? NSNull(), "output": attempt.output ?? NSNull(),
        ]
    }
}
