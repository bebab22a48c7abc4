/// What both backends ask before storing a reconciled stand-in (``StandIn``).
enum StandInSQL {
    /// The stored events of a type about a subject, whose bodies say whether one is the genuine event a
    /// stand-in would stand in for: $1 subject, $2 type. Through `events_by_subject`.
    static let genuineCandidates = "SELECT id, body FROM events WHERE subject = $1 AND type = $2"

    /// ``genuineCandidates`` for a batch in one statement (PostgreSQL): $1 subjects, $2 types, pairwise.
    static let genuineCandidatesOfBatch = """
        SELECT e.id, e.body, e.subject, e.type FROM events e
        JOIN unnest($1::text[], $2::text[]) AS s(subject, type) ON e.subject = s.subject AND e.type = s.type
        """
}
