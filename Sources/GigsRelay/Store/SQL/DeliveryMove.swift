/// An operator's change to chosen deliveries (`deliveries retry`, `deliveries skip`): the statuses it
/// applies to and what it sets, written once for both backends.
struct DeliveryMove: Sendable {
    /// The statuses a delivery must have.
    let from: [DeliveryStatus]
    /// The `SET` clause, given the placeholder of the time of the change (Unix ms).
    let set: @Sendable (_ now: String) -> String

    /// Back to `pending` with a fresh attempt budget.
    static let retry = DeliveryMove(
        from: [.dead, .failed],
        set: { now in
            "status = \(DeliveryStatus.pending.sql), attempts = 0, lease_expirations = 0, next_attempt_at = \(now), "
                + "updated_at = \(now)"
        })
    /// Never attempted again.
    static let skip = DeliveryMove(
        from: [.pending, .failed, .dead],
        set: { now in "status = \(DeliveryStatus.skipped.sql), next_attempt_at = 0, updated_at = \(now)" })

    /// Changes those of `ids` it fits at `now` and returns their ids.
    func update(_ ids: [Int64], now: Int64, _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        let now = statement.bind(now)
        let ids = statement.bindList(ids)
        statement.append(
            """
            UPDATE deliveries SET \(set(now))
            WHERE id IN (\(ids)) AND status IN (\(from.sql)) RETURNING id
            """)
        return statement
    }

    /// The ids among `ids` it would change.
    func select(_ ids: [Int64], _ dialect: SQLDialect) -> SQLStatement {
        var statement = SQLStatement(dialect)
        let ids = statement.bindList(ids)
        statement.append("SELECT id FROM deliveries WHERE id IN (\(ids)) AND status IN (\(from.sql))")
        return statement
    }
}
