import Foundation

/// `store.url`: where the PostgreSQL store is, `postgres://USER@HOST[:PORT]/DATABASE[?sslmode=…]`.
///
/// The password is never part of the URL (it is `store.password`, a secret reference), so the URL can be
/// logged and shown by `config check` as it is.
public struct PostgresURL: Sendable, Equatable, CustomStringConvertible {
    /// How TLS to the server is used: libpq's `sslmode` names.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, the certificate not checked.
        case prefer
        /// TLS, the certificate not checked.
        case require
        /// TLS, the certificate checked against the trusted roots, not the host name.
        case verifyCA = "verify-ca"
        /// TLS, the certificate and the host name checked.
        case verifyFull = "verify-full"
    }

    public let user: String
    public let host: String
    public let port: Int
    public let database: String
    /// `sslmode`; when the URL does not say, `verify-full`, or `disable` for a loopback host.
    public let tlsMode: TLSMode
    /// `sslrootcert`: a PEM file of the roots to trust instead of the system's.
    public let rootCertificateFile: String?
    /// The URL as written.
    public let description: String

    /// Parses the URL, or throws naming `key` and what is wrong (never echoing a password).
    public init(parsing text: String, key: String) throws(ConfigurationError) {
        guard let components = URLComponents(string: text),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw ConfigurationError(key: key, "must be a postgres://USER@HOST[:PORT]/DATABASE URL")
        }
        guard components.password == nil else {
            throw ConfigurationError(
                key: key, "must not hold a password: put a secret reference in store.password instead")
        }
        guard let host = components.host, !host.isEmpty else {
            throw ConfigurationError(key: key, "names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw ConfigurationError(key: key, "names no user (postgres://USER@HOST/DATABASE)")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw ConfigurationError(key: key, "names no database (postgres://USER@HOST/DATABASE)")
        }
        let port = components.port ?? 5432
        guard (1...65_535).contains(port) else { throw ConfigurationError(key: key, "has a port out of range") }
        var tlsMode: TLSMode = IPNetwork.isLoopback(host: host) ? .disable : .verifyFull
        var rootCertificateFile: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    let modes = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw ConfigurationError(key: key, "sslmode must be one of \(modes)")
                }
                tlsMode = mode
            case "sslrootcert":
                guard let value = item.value, !value.isEmpty else {
                    throw ConfigurationError(key: key, "sslrootcert must name a file")
                }
                rootCertificateFile = value
            default:
                throw ConfigurationError(
                    key: key, "has an unknown parameter \(item.name.bounded(40)) (known: sslmode, sslrootcert)")
            }
        }
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.tlsMode = tlsMode
        self.rootCertificateFile = rootCertificateFile
        self.description = text
    }
}
