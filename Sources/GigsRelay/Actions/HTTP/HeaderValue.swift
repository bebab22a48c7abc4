/// A configured header value: text, or a secret reference (`env:`, `file:`, `credential:`) read at start
/// and at reload, so tokens for a downstream (`Authorization = "credential:backend-token"`) stay out of
/// the file. The effective configuration prints references, never their values.
public enum HeaderValue: Sendable, Equatable, CustomStringConvertible {
    case literal(String)
    case secret(SecretReference)

    /// Reads a value that starts with `env:`, `file:` or `credential:` as a reference, anything else as text.
    init(parsing text: String, key: String) throws(ConfigurationError) {
        let schemes = ["env:", "file:", "credential:"]
        self =
            schemes.contains(where: text.hasPrefix)
            ? .secret(try SecretReference(parsing: text, key: key)) : .literal(text)
    }

    /// The header's value, reading a referenced secret.
    func resolve(key: String, environment: [String: String]) throws(ConfigurationError) -> String {
        switch self {
        case .literal(let text): text
        case .secret(let reference): try reference.resolve(key: key, environment: environment)
        }
    }

    public var description: String {
        switch self {
        case .literal(let text): text
        case .secret(let reference): reference.description
        }
    }
}
