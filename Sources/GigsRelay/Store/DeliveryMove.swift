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
