import Foundation

/// How the daemon's own tools (the CLI's `health` and `send`) reach a listener it logged.
enum LocalListener {
    /// The URL of `path` on a local listener (`HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`); a wildcard
    /// address is asked on loopback.
    static func url(address: String, path: String) -> String {
        if address.hasPrefix("unix:") {
            let socket = String(address.dropFirst(5))
            return "http+unix://\(socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socket)\(path)"
        }
        if address.hasPrefix("0.0.0.0:") { return "http://127.0.0.1:\(address.dropFirst(8))\(path)" }
        if address.hasPrefix("[::]:") { return "http://[::1]:\(address.dropFirst(5))\(path)" }
        return "http://\(address)\(path)"
    }
}
