/// Where the HTTP server listens: a TCP host and port, or a Unix domain socket.
public enum ListenAddress: Sendable, Hashable, CustomStringConvertible {
    case tcp(host: String, port: Int)
    case unix(path: String)

    /// Parses `HOST:PORT`, `[IPv6]:PORT` or `unix:/path.sock`. Port 0 asks the kernel for a free port.
    public init(parsing text: String, key: String) throws(ConfigurationError) {
        if text.hasPrefix("unix:") {
            let path = String(text.dropFirst("unix:".count))
            guard !path.isEmpty else { throw ConfigurationError(key: key, "unix: needs a socket path") }
            self = .unix(path: path)
            return
        }
        let expected = "must be \"HOST:PORT\", \"[IPv6]:PORT\" or \"unix:/path.sock\", got \"\(text)\""
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else {
            throw ConfigurationError(key: key, expected)
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = String(host.dropFirst().dropLast())
        }
        guard !host.isEmpty else { throw ConfigurationError(key: key, expected) }
        self = .tcp(host: host, port: port)
    }

    /// Whether only this machine can connect: a Unix socket, or a loopback host (`127.0.0.0/8`, `::1`,
    /// `localhost`).
    public var isLocal: Bool {
        switch self {
        case .unix: true
        case .tcp(let host, _): host == "localhost" || host == "::1" || host.hasPrefix("127.")
        }
    }

    public var description: String {
        switch self {
        case .tcp(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .unix(let path): "unix:\(path)"
        }
    }
}
