extension SQLiteStatement {
    /// Inserts one `pending` delivery, due at once; compile with ``insertDeliverySQL``.
    static let insertDeliverySQL = """
        INSERT INTO deliveries (event_seq, action, status, next_attempt_at, replay, created_at, updated_at)
        VALUES (?1, ?2, 'pending', ?3, ?4, ?3, ?3)
        """

    /// Like ``insertDeliverySQL``, but inserts nothing when the event is no longer stored (a replay's
    /// plan is made before its transaction).
    static let insertReplaySQL = """
        INSERT INTO deliveries (event_seq, action, status, next_attempt_at, replay, created_at, updated_at)
        SELECT ?1, ?2, 'pending', ?3, ?4, ?3, ?3 WHERE EXISTS (SELECT 1 FROM events WHERE seq = ?1)
        """

    /// Runs ``insertDeliverySQL`` or ``insertReplaySQL`` for one event and action.
    func insertDelivery(eventSequence: Int64, action: String, at now: Int64, replay: Bool) throws(SQLiteError) {
        defer { reset() }
        try bind(eventSequence, at: 1)
        try bind(action, at: 2)
        try bind(now, at: 3)
        try bind(replay ? 1 : 0, at: 4)
        try step()
    }
}
