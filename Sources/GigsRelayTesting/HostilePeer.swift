import Foundation

/// A misbehaving HTTP or SMTP server (`Tests/Support/hostile_peer.py`) run as a child process, for the
/// hostile-peer tests: an HTTP server whose request path picks how it breaks the rules, or an SMTP server
/// that breaks them as its mode says.
public final class HostilePeer: Sendable {
    public let port: Int
    private let process: Process
    private let directory = TemporaryDirectory(prefix: "gigs-relay-hostile")

    /// An HTTP server; see `http_case` in the script for the paths.
    public static func http() throws -> HostilePeer { try HostilePeer(arguments: ["http"]) }

    /// The same over TLS with `certificate` and `key` (which the daemon does not trust).
    public static func https(certificate: String, key: String) throws -> HostilePeer {
        try HostilePeer(arguments: ["http", "--cert", certificate, "--key", key])
    }

    /// An SMTP server misbehaving in `mode`, offering STARTTLS with `certificate` and `key`.
    public static func smtp(mode: String, certificate: String, key: String) throws -> HostilePeer {
        try HostilePeer(arguments: ["smtp", "--mode", mode, "--cert", certificate, "--key", key])
    }

    private init(arguments: [String]) throws {
        let helper = try HelperProcess(
            script: "hostile_peer.py", arguments: arguments + ["--record", directory.file("record.jsonl")])
        self.process = helper.process
        self.port = helper.port
    }

    deinit {
        process.terminate()
        directory.remove()
    }

    /// The URL of one misbehaviour (`/retry-after-huge`, `/huge-body`, `/blackhole`, …).
    public func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }

    /// Requests (HTTP) or connections (SMTP) so far.
    public var contacts: Int {
        (try? String(contentsOfFile: directory.file("record.jsonl"), encoding: .utf8))?
            .split(separator: "\n").count ?? 0
    }
}
