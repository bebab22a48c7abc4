extension SQLiteStatement {
    /// Inserts one delivery, `pending` or (handed straight to this instance's dispatcher, see
    /// ``DeliveryHandOff``) `running` on its first attempt; compile with ``insertDeliverySQL``. ?1 event,
    /// ?2 action, ?3 now, ?4 replay, ?5 due (a running one's lease end), ?6 ordering subject, ?7 order
    /// time, ?8 status, ?9 attempts.
    static let insertDeliverySQL = """
        INSERT INTO deliveries (event_seq, action, status, attempts, next_attempt_at, replay, created_at, updated_at,
            subject, order_at)
        VALUES (?1, ?2, ?8, ?9, ?5, ?4, ?3, ?3, ?6, ?7)
        """

    /// Like ``insertDeliverySQL``, but inserts nothing when the event is no longer stored (a replay's
    /// plan is made before its transaction).
    static let insertReplaySQL = """
        INSERT INTO deliveries (event_seq, action, status, attempts, next_attempt_at, replay, created_at, updated_at,
            subject, order_at)
        SELECT ?1, ?2, ?8, ?9, ?5, ?4, ?3, ?3, ?6, ?7
        WHERE EXISTS (SELECT 1 FROM events WHERE seq = ?1)
        """

    /// Runs ``insertDeliverySQL`` or ``insertReplaySQL`` for one event and action: due at `dueAt` (else
    /// `now`), ordered by `subject` when it has one; with `leasedUntil`, running on its first attempt under
    /// a lease that ends then.
    func insertDelivery(
        eventSequence: Int64,
        action: String,
        at now: Int64,
        replay: Bool,
        dueAt: Int64? = nil,
        subject: String? = nil,
        orderAt: Int64? = nil,
        leasedUntil: Int64? = nil
    ) throws(SQLiteError) {
        defer { reset() }
        try bind(eventSequence, at: 1)
        try bind(action, at: 2)
        try bind(now, at: 3)
        try bind(replay ? 1 : 0, at: 4)
        try bind(leasedUntil ?? dueAt ?? now, at: 5)
        try bind(subject, at: 6)
        try bind(orderAt ?? now, at: 7)
        try bind((leasedUntil == nil ? DeliveryStatus.pending : .running).rawValue, at: 8)
        try bind(leasedUntil == nil ? 0 : 1, at: 9)
        try step()
    }

    /// Whether delivery `d` (ordered by subject) must wait: another of its subject is running under a live
    /// lease, or an earlier one is unfinished (or dead, when ?5 says dead ones hold their subject).
    /// ?2 is now.
    static let subjectHeld = """
        EXISTS (
            SELECT 1 FROM deliveries o INDEXED BY deliveries_by_subject
            WHERE o.action = d.action AND o.subject = d.subject AND o.subject IS NOT NULL AND o.id != d.id AND (
                (o.status = \(DeliveryStatus.running.sql) AND o.next_attempt_at > ?2)
                OR ((o.order_at, o.event_seq, o.id) < (d.order_at, d.event_seq, d.id)
                    AND (o.status IN (\(DeliveryStatus.unfinished.sql))
                        OR (?5 = 1 AND o.status = \(DeliveryStatus.dead.sql))))
            )
        )
        """

    /// Whether a later delivery of `d`'s subject was already attempted or delivered: `d` arrived too late
    /// to be sorted in, and goes out of order.
    static let laterDelivered = """
        EXISTS (
            SELECT 1 FROM deliveries o INDEXED BY deliveries_by_subject
            WHERE o.action = d.action AND o.subject = d.subject AND o.subject IS NOT NULL
                AND (o.order_at, o.event_seq, o.id) > (d.order_at, d.event_seq, d.id)
                AND (o.attempts > 0 OR o.status = \(DeliveryStatus.succeeded.sql))
        )
        """
}
