extension SQLiteStatement {
    /// Inserts one event unless one with its id is stored (then it changes nothing); compile with
    /// ``insertEventSQL`` and bind with ``insertEvent(_:)``.
    static let insertEventSQL = """
        INSERT INTO events (id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body,
            subject, user_id, trace_context)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO NOTHING
        """

    /// Runs ``insertEventSQL`` for `event`, storing its ``VerifiedEvent/storedBody``.
    func insertEvent(_ event: VerifiedEvent) throws(SQLiteError) {
        defer { reset() }
        try bind(event.id.rawValue, at: 1)
        try bind(event.type, at: 2)
        try bind(event.project, at: 3)
        try bind(event.time, at: 4)
        try bind(event.receivedAt, at: 5)
        try bind(event.headers.id, at: 6)
        try bind(event.timestamp, at: 7)
        try bind(event.headers.signature, at: 8)
        try bind(bytes: event.storedBody, at: 9)
        try bind(event.subject, at: 10)
        try bind(event.user, at: 11)
        try bind(event.traceContext?.stored, at: 12)
        try step()
    }

    /// Whether an event with the id bound as ?1 is stored.
    static let eventStoredSQL = "SELECT 1 FROM events WHERE id = ?1"
}
