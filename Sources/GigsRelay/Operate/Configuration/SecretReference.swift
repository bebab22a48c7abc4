import Foundation

/// Where a secret comes from: an environment variable, a file, or a systemd credential.
///
/// Configuration files name secrets, they never hold them; a literal value is refused.
public enum SecretReference: Sendable, Hashable, CustomStringConvertible {
    /// `env:NAME`, the value of an environment variable.
    case environment(String)
    /// `file:PATH`, a file's contents without trailing white space.
    case file(String)
    /// `credential:NAME`, the file NAME in systemd's `$CREDENTIALS_DIRECTORY`.
    case credential(String)

    /// Parses `env:NAME`, `file:PATH` or `credential:NAME`.
    ///
    /// - Parameter key: the configuration key, for the error message.
    public init(parsing text: String, key: String) throws(ConfigurationError) {
        let expected =
            "must be a reference such as \"env:NAME\", \"file:PATH\" or \"credential:NAME\"; "
            + "secret values are never accepted in the configuration file"
        guard let colon = text.firstIndex(of: ":") else {
            throw ConfigurationError(key: key, expected)
        }
        let scheme = text[..<colon]
        let name = String(text[text.index(after: colon)...])
        guard !name.isEmpty else { throw ConfigurationError(key: key, expected) }
        switch scheme {
        case "env":
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigurationError(key: key, "environment variable names may hold letters, digits and _")
            }
            self = .environment(name)
        case "file":
            self = .file(name)
        case "credential":
            guard !name.contains("/") else {
                throw ConfigurationError(key: key, "a credential name may not contain \"/\"")
            }
            self = .credential(name)
        default:
            throw ConfigurationError(key: key, expected)
        }
    }

    public var description: String {
        switch self {
        case .environment(let name): "env:\(name)"
        case .file(let path): "file:\(path)"
        case .credential(let name): "credential:\(name)"
        }
    }

    /// Reads the secret's value.
    ///
    /// - Parameters:
    ///   - key: the configuration key, for the error message.
    ///   - environment: the process environment (injected so tests need not change the real one).
    /// - Returns: the value with surrounding white space removed; never empty.
    public func resolve(key: String, environment: [String: String]) throws(ConfigurationError) -> String {
        let raw: String
        switch self {
        case .environment(let name):
            guard let value = environment[name] else {
                throw ConfigurationError(key: key, "environment variable \(name) is not set")
            }
            raw = value
        case .file(let path):
            raw = try Self.read(path: path, key: key)
        case .credential(let name):
            guard let directory = environment["CREDENTIALS_DIRECTORY"], !directory.isEmpty else {
                throw ConfigurationError(
                    key: key,
                    "credential \(name) needs $CREDENTIALS_DIRECTORY (set by systemd's LoadCredential=)"
                )
            }
            raw = try Self.read(path: directory + "/" + name, key: key)
        }
        let value = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else {
            throw ConfigurationError(key: key, "\(self) is empty")
        }
        return value
    }

    private static func read(path: String, key: String) throws(ConfigurationError) -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: key, "cannot read secret file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(key: key, "secret file \(path) is not UTF-8 text")
        }
        return text
    }
}
