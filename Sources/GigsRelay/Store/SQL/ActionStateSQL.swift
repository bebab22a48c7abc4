/// The statements on `action_state` that both backends share (SQLite and PostgreSQL read them alike).
enum ActionStateSQL {
    /// Upserts an action's circuit state: $1 action, $2 state, $3 since (Unix ms), $4 error. Changes are
    /// recorded off the attempt's path, so they may arrive out of order: an older one never replaces a newer.
    static let recordCircuit = """
        INSERT INTO action_state (action, circuit, circuit_since, circuit_error) VALUES ($1, $2, $3, $4)
        ON CONFLICT (action) DO UPDATE SET circuit = excluded.circuit, circuit_since = excluded.circuit_since,
            circuit_error = excluded.circuit_error
        WHERE action_state.circuit_since IS NULL OR excluded.circuit_since >= action_state.circuit_since
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
        WHERE status IN (\(DeliveryStatus.counted.sql)) GROUP BY action, status
        """

    /// The id and `last_error` of an action's newest failed or dead delivery: $1 action.
    static let lastError = """
        SELECT id, last_error FROM deliveries
        WHERE status IN (\([DeliveryStatus.failed, .dead].sql)) AND action = $1 AND last_error IS NOT NULL
        ORDER BY id DESC LIMIT 1
        """

}
