/// A value that must never be shown: SIM credentials and tokens print as `<redacted>`.
public struct Credential: Sendable, Decodable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret text; read it only to hand it to its one recipient.
    public let revealed: String

    public init(_ revealed: String) {
        self.revealed = revealed
    }

    public init(from decoder: any Decoder) throws {
        revealed = try decoder.singleValueContainer().decode(String.self)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "Credential(<redacted>)" }
}
