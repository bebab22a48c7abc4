/// The body of every JSON error gigs-relay answers, from ingest and the operator API alike:
/// `{"error":{"code":"…","message":"…"}}`.
public struct ErrorBody: Codable, Sendable, Equatable {
    public struct Detail: Codable, Sendable, Equatable {
        /// A stable, machine-readable code (`bad_signature`, `not_found`, …).
        public var code: String
        /// What went wrong, for a person.
        public var message: String
    }

    public var error: Detail

    public init(code: String, message: String) {
        error = Detail(code: code, message: message)
    }
}
