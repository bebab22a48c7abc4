/// The statements on ordered deliveries that both backends share.
enum OrderingSQL {
    /// The dead delivery that holds delivery $1's subject: the earliest dead one of its action and subject
    /// ordered before it.
    static let blocker = """
        SELECT o.id FROM deliveries d JOIN deliveries o ON o.action = d.action AND o.subject = d.subject
        WHERE d.id = $1 AND d.subject IS NOT NULL AND o.status = 'dead'
            AND (o.order_at, o.event_seq, o.id) < (d.order_at, d.event_seq, d.id)
        ORDER BY o.order_at, o.event_seq, o.id LIMIT 1
        """

    /// Due deliveries of action ?3 held by a dead delivery of their subject, parked until ?1 (?2 is now); at
    /// most 10,000 per claim. SQLite numbering; the status test repeats the due index's condition so that
    /// SQLite may use it.
    static let park = """
        UPDATE deliveries SET next_attempt_at = ?1
        WHERE id IN (
            SELECT d.id FROM deliveries d INDEXED BY deliveries_due_by_action
            WHERE d.action = ?3 AND d.status IN ('pending', 'failed', 'running') AND d.status <> 'running'
                AND d.next_attempt_at <= ?2
                AND d.subject IS NOT NULL AND \(heldByDead)
            LIMIT 10000
        )
        """

    /// The same for PostgreSQL, for the actions in $3 (an array).
    static let parkMany = """
        UPDATE deliveries SET next_attempt_at = $1
        WHERE id IN (
            SELECT d.id FROM deliveries d
            WHERE d.action = ANY($3) AND d.status IN ('pending', 'failed') AND d.next_attempt_at <= $2
                AND d.subject IS NOT NULL AND \(heldByDead)
            LIMIT 10000
        )
        """

    /// Whether a dead delivery ordered before `d` holds its subject.
    private static let heldByDead = """
        EXISTS (
            SELECT 1 FROM deliveries o
            WHERE o.action = d.action AND o.subject = d.subject AND o.status = 'dead'
                AND (o.order_at, o.event_seq, o.id) < (d.order_at, d.event_seq, d.id)
        )
        """

    /// Makes the parked deliveries of a subject due again (after its dead delivery was retried or
    /// skipped): $1 now, $2 the delivery whose subject it is.
    static let unpark = """
        UPDATE deliveries SET next_attempt_at = $1
        WHERE status IN ('pending', 'failed') AND next_attempt_at > $1 AND subject IS NOT NULL
            AND (action, subject) IN (SELECT action, subject FROM deliveries WHERE id = $2 AND subject IS NOT NULL)
        """

    /// ``unpark`` for the deliveries in $2 (a PostgreSQL array).
    static let unparkMany = """
        UPDATE deliveries SET next_attempt_at = $1
        WHERE status IN ('pending', 'failed') AND next_attempt_at > $1 AND subject IS NOT NULL
            AND (action, subject) IN (
                SELECT action, subject FROM deliveries WHERE id = ANY($2) AND subject IS NOT NULL
            )
        """

    /// Subjects held by a dead delivery with an unfinished one waiting behind it, among the actions in
    /// `actions` (a SQL list), and when the oldest of those dead deliveries died (Unix ms).
    static func blocked(actions: String) -> String {
        """
        SELECT count(DISTINCT d.action || ' ' || d.subject), min(d.updated_at) FROM deliveries d
        WHERE d.status = 'dead' AND d.subject IS NOT NULL AND d.action IN (\(actions))
            AND EXISTS (
                SELECT 1 FROM deliveries n
                WHERE n.action = d.action AND n.subject = d.subject AND n.status IN ('pending', 'failed')
                    AND (n.order_at, n.event_seq, n.id) > (d.order_at, d.event_seq, d.id)
            )
        """
    }
}
