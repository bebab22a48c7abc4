import Foundation

/// The operator listings (`events list`, `deliveries list`, the API and the console), built once for both
/// backends from their filters.
enum ListingSQL {
    /// The event columns a listing reads, in ``eventRow`` order; without bodies unless `body`.
    static func eventColumns(body: Bool, _ dialect: SQLDialect) -> String {
        "seq, id, type, project, event_time, received_at, message_id, webhook_timestamp, "
            + (body ? "body" : dialect.emptyBlob) + ", subject, user_id, erased_at, trace_context"
    }

    /// Events matching `filter`, newest first, without bodies.
    ///
    /// - Parameter bytewiseID: how the id column compares byte for byte, for the prefix range (`id` in
    ///   SQLite, whose default collation is bytewise, or `+id` to keep it off the id index;
    ///   `(id COLLATE "C")` in PostgreSQL).
    static func events(_ filter: EventFilter, bytewiseID: String, _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        var conditions: [String] = []
        if let type = filter.type { conditions.append("type = \(statement.bind(type))") }
        if let subject = filter.subject { conditions.append("subject = \(statement.bind(subject))") }
        if let user = filter.user { conditions.append("user_id = \(statement.bind(user))") }
        if let prefix = filter.idPrefix, !prefix.isEmpty {
            // A range, so the id index serves it; U+10FFFF's bytes sort after those of any character.
            let (low, high) = prefixRange(prefix)
            conditions.append("\(bytewiseID) >= \(statement.bind(low)) AND \(bytewiseID) < \(statement.bind(high))")
        }
        if let since = filter.since { conditions.append("received_at >= \(statement.bind(unixMilliseconds(since)))") }
        if let until = filter.until { conditions.append("received_at < \(statement.bind(unixMilliseconds(until)))") }
        if let before = filter.before { conditions.append("seq < \(statement.bind(before))") }
        let filtered = SQLStatement.whereClause(conditions)
        let limit = statement.bind(Int64(filter.limit))
        statement.append(
            "SELECT \(eventColumns(body: false, dialect)) FROM events \(filtered) ORDER BY seq DESC LIMIT \(limit)")
        return statement
    }

    /// The bounds of an id prefix as a range: `[prefix, prefix + U+10FFFF)`.
    static func prefixRange(_ prefix: String) -> (String, String) {
        (prefix, prefix + "\u{10FFFF}")
    }

    /// Deliveries matching `filter`, newest first, in ``ListedDelivery`` order.
    static func deliveries(_ filter: DeliveryFilter, _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        var conditions: [String] = []
        if let id = filter.id { conditions.append("d.id = \(statement.bind(id.rawValue))") }
        if let before = filter.before { conditions.append("d.id < \(statement.bind(before.rawValue))") }
        if let since = filter.since {
            conditions.append("d.created_at >= \(statement.bind(unixMilliseconds(since)))")
        }
        if let status = filter.status { conditions.append("d.status = \(statement.bind(status.rawValue))") }
        if let action = filter.action { conditions.append("d.action = \(statement.bind(action))") }
        if let event = filter.eventID { conditions.append("e.id = \(statement.bind(event.rawValue))") }
        // The event's subject (such as its subscription), so that unordered actions' deliveries are found too.
        if let subject = filter.subject { conditions.append("e.subject = \(statement.bind(subject))") }
        let filtered = SQLStatement.whereClause(conditions)
        let limit = statement.bind(Int64(filter.limit))
        statement.append(
            """
            SELECT d.id, e.id, e.type, d.action, d.status, d.attempts, d.last_error, d.next_attempt_at, d.replay,
                   d.created_at, d.updated_at, d.subject, d.out_of_order
            FROM deliveries d JOIN events e ON e.seq = d.event_seq
            \(filtered)
            ORDER BY d.id DESC LIMIT \(limit)
            """)
        return statement
    }

    /// The attempts of delivery $1, oldest first, in ``StoredAttempt`` order.
    static let attempts = """
        SELECT number, started_at, duration_ms, outcome, error, output FROM attempts
        WHERE delivery_id = $1 ORDER BY id
        """
}

/// A row of ``ListingSQL/deliveries(_:_:)``, as either backend reads it.
struct ListedDelivery {
    var id: Int64
    var eventID: String
    var eventType: String
    var action: String
    var status: String
    var attempts: Int64
    var lastError: String?
    var nextAttemptAt: Int64
    var replay: Int64
    var createdAt: Int64
    var updatedAt: Int64
    var subject: String?
    var outOfOrder: Int64

    /// The delivery, its error opened by `sealer`.
    func delivery(opening sealer: PayloadSealer) -> StoredDelivery {
        let status = DeliveryStatus(rawValue: status) ?? .pending
        var delivery = StoredDelivery(
            id: DeliveryID(id),
            eventID: EventID(eventID),
            eventType: eventType,
            action: action,
            status: status,
            attempts: Int(clamping: attempts),
            lastError: sealer.open(text: lastError, for: .delivery(DeliveryID(id))),
            nextAttemptAt: status.isUnfinished ? Date(unixMilliseconds: nextAttemptAt) : nil,
            isReplay: replay != 0,
            createdAt: Date(unixMilliseconds: createdAt),
            updatedAt: Date(unixMilliseconds: updatedAt)
        )
        delivery.subject = subject
        delivery.isOutOfOrder = outOfOrder != 0
        return delivery
    }
}
