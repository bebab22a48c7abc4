/// The statements on ordered deliveries, written once for both backends.
enum OrderingSQL {
    private static let dead = DeliveryStatus.dead.sql

    /// The dead delivery that holds delivery $1's subject: the earliest dead one of its action and subject
    /// ordered before it.
    static let blocker = """
        SELECT o.id FROM deliveries d JOIN deliveries o ON o.action = d.action AND o.subject = d.subject
        WHERE d.id = $1 AND d.subject IS NOT NULL AND o.status = \(dead)
            AND (o.order_at, o.event_seq, o.id) < (d.order_at, d.event_seq, d.id)
        ORDER BY o.order_at, o.event_seq, o.id LIMIT 1
        """

    /// Parks the due deliveries of `actions` held by a dead delivery of their subject until `until`; at
    /// most 10,000 per statement. The status test repeats the due index's condition so that SQLite may
    /// use it.
    static func park(actions: [String], until: Int64, now: Int64, _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        let until = statement.bind(until)
        let now = statement.bind(now)
        let actions = statement.bindList(actions)
        statement.append(
            """
            UPDATE deliveries SET next_attempt_at = \(until)
            WHERE id IN (
                SELECT d.id FROM deliveries d \(dialect.indexedBy("deliveries_due_by_action"))
                WHERE d.action IN (\(actions)) AND d.status IN (\(DeliveryStatus.unfinished.sql))
                    AND d.status <> \(DeliveryStatus.running.sql) AND d.next_attempt_at <= \(now)
                    AND d.subject IS NOT NULL AND \(heldByDead)
                LIMIT 10000
            )
            """)
        return statement
    }

    /// Whether a dead delivery ordered before `d` holds its subject.
    private static let heldByDead = """
        EXISTS (
            SELECT 1 FROM deliveries o
            WHERE o.action = d.action AND o.subject = d.subject AND o.status = \(dead)
                AND (o.order_at, o.event_seq, o.id) < (d.order_at, d.event_seq, d.id)
        )
        """

    /// Makes the parked deliveries of the subjects of `deliveries` due again (after their dead delivery
    /// was retried or skipped).
    static func unpark(subjectsOf deliveries: [Int64], now: Int64, _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        let now = statement.bind(now)
        let ids = statement.bindList(deliveries)
        statement.append(
            """
            UPDATE deliveries SET next_attempt_at = \(now)
            WHERE status IN (\(DeliveryStatus.waiting.sql)) AND next_attempt_at > \(now) AND subject IS NOT NULL
                AND (action, subject) IN (
                    SELECT action, subject FROM deliveries WHERE id IN (\(ids)) AND subject IS NOT NULL
                )
            """)
        return statement
    }

    /// Subjects held by a dead delivery with an unfinished one waiting behind it, among `actions`, and
    /// when the oldest of those dead deliveries died (Unix ms).
    static func blocked(actions: [String], _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        let actions = statement.bindList(actions)
        statement.append(
            """
            SELECT count(DISTINCT d.action || ' ' || d.subject), min(d.updated_at) FROM deliveries d
            WHERE d.status = \(dead) AND d.subject IS NOT NULL AND d.action IN (\(actions))
                AND EXISTS (
                    SELECT 1 FROM deliveries n
                    WHERE n.action = d.action AND n.subject = d.subject AND n.status IN (\(DeliveryStatus.waiting.sql))
                        AND (n.order_at, n.event_seq, n.id) > (d.order_at, d.event_seq, d.id)
                )
            """)
        return statement
    }
}
