import Foundation
import GigsRelay

/// Renders deliveries and their attempts for people and for scripts.
enum DeliveryFormatter {
    /// A fixed-width table, newest first. Errors are shown through ``Terminal/printable(_:)``: they hold
    /// text from remote servers.
    static func table(_ deliveries: [StoredDelivery], blockers: [DeliveryID: DeliveryID] = [:]) -> String {
        guard !deliveries.isEmpty else { return "No deliveries match." }
        return EventFormatter.columns(
            [["ID", "STATUS", "ATTEMPTS", "ACTION", "EVENT", "NEXT", "LAST ERROR"]]
                + deliveries.map {
                    [
                        $0.id.description, status($0, blockedBy: blockers[$0.id]), String($0.attempts), $0.action,
                        $0.eventID.rawValue, $0.nextAttemptAt.map(EventFormatter.timestamp) ?? "-",
                        blockers[$0.id].map { "blocked by \($0) (dead)" } ?? $0.lastError.map(Terminal.printable)
                            ?? "-",
                    ]
                }
        )
    }

    /// The status column: `blocked` for one a dead delivery holds; `out-of-order` marked.
    static func status(_ delivery: StoredDelivery, blockedBy: DeliveryID?) -> String {
        (blockedBy == nil ? delivery.status.rawValue : "blocked") + (delivery.isOutOfOrder ? " (out of order)" : "")
    }

    /// Labelled fields, then one line per attempt.
    static func text(_ delivery: StoredDelivery, attempts: [StoredAttempt], blockedBy: DeliveryID? = nil) -> String {
        var lines = [
            "id:           \(delivery.id)",
            "event:        \(delivery.eventID) (\(delivery.eventType))",
            "action:       \(delivery.action)",
            "status:       \(blockedBy.map { "blocked by \($0) (dead)" } ?? delivery.status.rawValue)"
                + (delivery.isReplay ? " (replay)" : "")
                + (delivery.isOutOfOrder ? " (out of order: a later event of its subject went first)" : ""),
            "subject:      \(delivery.subject ?? "-")",
            "attempts:     \(delivery.attempts)",
            "next attempt: \(delivery.nextAttemptAt.map(EventFormatter.timestamp) ?? "-")",
            "last error:   \(delivery.lastError.map(Terminal.printable) ?? "-")",
            "",
        ]
        lines += attempts.map { attempt in
            "#\(attempt.number)  \(EventFormatter.timestamp(attempt.startedAt))  \(attempt.durationMilliseconds) ms  "
                + "\(attempt.outcome)\(attempt.error.map { "  \(Terminal.printable($0))" } ?? "")"
        }
        return lines.joined(separator: "\n")
    }
}
