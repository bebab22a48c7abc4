/// The statements that end an attempt, written once for both backends. Each is fenced: it applies only
/// while the delivery is still `running` at that attempt, so the report of an attempt that lost its lease
/// changes nothing.
enum AttemptSQL {
    /// The fence: delivery $id still running at attempt $attempt.
    static func fence(id: String, attempt: String, table: String = "") -> String {
        "\(table)id = \(id) AND \(table)attempts = \(attempt) AND \(table)status = \(DeliveryStatus.running.sql)"
    }

    /// Puts a delivery whose attempt was interrupted at shutdown back to `pending`, the attempt not
    /// counted: $1 now, $2 delivery, $3 attempt. Returns the delivery's id when it applied.
    static let release = """
        UPDATE deliveries SET status = \(DeliveryStatus.pending.sql), attempts = attempts - 1, next_attempt_at = $1,
            updated_at = $1
        WHERE \(fence(id: "$2", attempt: "$3")) RETURNING id
        """

    /// Records one attempt: $1 delivery, $2 number, $3 started at, $4 duration (ms), $5 outcome, $6 error,
    /// $7 output.
    static let insert = """
        INSERT INTO attempts (delivery_id, number, started_at, duration_ms, outcome, error, output)
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """

    /// The error recorded for an attempt whose lease expired before it finished (its delivery is then
    /// claimed again, or poisoned on its last attempt).
    static let unfinished = "attempt did not finish: its lease expired"
}
