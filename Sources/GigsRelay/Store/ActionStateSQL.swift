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

/// An operator's change to chosen deliveries (`deliveries retry`, `deliveries skip`): the statuses it
/// applies to and what it sets, with `$1` for now (Unix ms).
struct DeliveryMove {
    /// The statuses a delivery must have, as a SQL list.
    let from: String
    /// The `SET` clause.
    let set: String

    /// Back to `pending` with a fresh attempt budget.
    static let retry = DeliveryMove(
        from: "'dead', 'failed'",
        set: "status = 'pending', attempts = 0, lease_expirations = 0, next_attempt_at = $1, updated_at = $1")
    /// Never attempted again.
    static let skip = DeliveryMove(
        from: "'pending', 'failed', 'dead'", set: "status = 'skipped', next_attempt_at = 0, updated_at = $1")

    /// Changes delivery $2 (SQLite, one at a time).
    var updateOne: String { "UPDATE deliveries SET \(set) WHERE id = $2 AND status IN (\(from))" }
    /// Whether delivery $1 would change.
    var selectOne: String { "SELECT 1 FROM deliveries WHERE id = $1 AND status IN (\(from))" }
    /// Changes the deliveries in the array $2 and returns their ids (PostgreSQL).
    var updateMany: String { "UPDATE deliveries SET \(set) WHERE id = ANY($2) AND status IN (\(from)) RETURNING id" }
    /// The ids in the array $1 that would change.
    var selectMany: String { "SELECT id FROM deliveries WHERE id = ANY($1) AND status IN (\(from))" }
}
