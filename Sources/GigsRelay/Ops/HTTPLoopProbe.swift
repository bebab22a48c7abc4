import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1

/// Asks the daemon's own HTTP listener for `GET webhook.path`, which answers 405 within a second when the
/// event loops and the request tasks work: the watchdog's end-to-end check of the HTTP side.
final class HTTPLoopProbe: Sendable {
    private let address = NIOLockedValueBox<String?>(nil)
    private let path: String
    private let client: HTTPClient

    init(path: String, client: HTTPClient) {
        self.path = path
        self.client = client
    }

    /// Records the bound address (`HOST:PORT` or `unix:PATH`) once the server listens.
    func listening(on address: String) {
        self.address.withLockedValue { $0 = address }
    }

    /// Nil when the listener answered as expected; otherwise what went wrong.
    func check() async -> String? {
        guard let address = address.withLockedValue({ $0 }) else { return "http: not listening yet" }
        let url = Self.localURL(address: address, path: path)
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: url), deadline: .now() + .seconds(1))
            return response.status == .methodNotAllowed ? nil : "http: the listener answered \(response.status.code)"
        } catch {
            return "http: the listener did not answer (\(HTTPAction.describe(error)))"
        }
    }

    /// The URL of `path` on a local listener (`HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`); a wildcard
    /// address is asked on loopback.
    static func localURL(address: String, path: String) -> String {
        if address.hasPrefix("unix:") {
            let socket = String(address.dropFirst(5))
            return "http+unix://\(socket.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? socket)\(path)"
        }
        if address.hasPrefix("0.0.0.0:") { return "http://127.0.0.1:\(address.dropFirst(8))\(path)" }
        if address.hasPrefix("[::]:") { return "http://[::1]:\(address.dropFirst(5))\(path)" }
        return "http://\(address)\(path)"
    }
}
