/// The statements on `action_state` that both backends share (SQLite and PostgreSQL read them alike).
enum ActionStateSQL {
    /// Upserts an action's circuit state: $1 action, $2 state, $3 since (Unix ms), $4 error.
    static let recordCircuit = """
        INSERT INTO action_state (action, circuit, circuit_since, circuit_error) VALUES ($1, $2, $3, $4)
        ON CONFLICT (action) DO UPDATE SET circuit = excluded.circuit, circuit_since = excluded.circuit_since,
            circuit_error = excluded.circuit_error
        """

    /// Pauses an action unless it is paused: $1 action, $2 now (Unix ms). Changes a row only when it was
    /// not paused.
    static let pause = """
        INSERT INTO action_state (action, paused_at) VALUES ($1, $2)
        ON CONFLICT (action) DO UPDATE SET paused_at = excluded.paused_at WHERE action_state.paused_at IS NULL
        """

    /// Resumes an action: $1 action. Changes a row only when it was paused.
    static let resume = "UPDATE action_state SET paused_at = NULL WHERE action = $1 AND paused_at IS NOT NULL"

    /// Every recorded action state.
    static let states = "SELECT action, paused_at, circuit, circuit_since, circuit_error FROM action_state"

    /// Deliveries that are not finished, or dead, counted by action and status (through the status index).
    static let counts = """
        SELECT action, status, count(*) FROM deliveries
        WHERE status IN ('pending', 'failed', 'running', 'dead') GROUP BY action, status
        """

    /// The `last_error` of an action's newest failed or dead delivery: $1 action.
    static let lastError = """
        SELECT last_error FROM deliveries
        WHERE status IN ('failed', 'dead') AND action = $1 AND last_error IS NOT NULL
        ORDER BY id DESC LIMIT 1
        """

    /// Marks a delivery skipped unless it is running or finished: $1 now (Unix ms), $2 its id.
    static let skip = """
        UPDATE deliveries SET status = 'skipped', next_attempt_at = 0, updated_at = $1
        WHERE id = $2 AND status IN ('pending', 'failed', 'dead')
        """
}

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
