/// What both backends ask before storing a reconciled stand-in (``StandIn``).
enum StandInSQL {
    /// The stored events of a type about a subject, whose bodies say whether one is the genuine event a
    /// stand-in would stand in for: $1 subject, $2 type. Through `events_by_subject`.
    static let genuineCandidates = "SELECT id, body FROM events WHERE subject = $1 AND type = $2"
}
