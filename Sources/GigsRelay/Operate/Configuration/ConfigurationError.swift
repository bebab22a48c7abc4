/// A configuration problem, naming the key at fault and what is expected of it.
///
/// Messages never repeat a secret's value: a reference's kind and name are shown, never its contents.
public struct ConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The dotted key at fault, such as `server.max_body_bytes`; empty for file-level problems.
    public let key: String
    /// What is wrong and what would be accepted.
    public let message: String

    public init(key: String, _ message: String) {
        self.key = key
        self.message = message
    }

    public var description: String {
        key.isEmpty ? message : "\(key): \(message)"
    }
}
