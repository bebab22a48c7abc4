import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `gigs-relay health`: asks a daemon's `/readyz` whether it is ready, for monitoring scripts.
public enum HealthProbe {
    /// The answer: ready or not, and what the daemon said (or why it could not be asked).
    public struct Result: Sendable {
        public let isReady: Bool
        public let text: String
    }

    /// The `/readyz` URL of the listener that serves it: `admin.listen`, else `server.listen` (a wildcard
    /// address is asked on loopback).
    public static func readinessURL(for configuration: RelayConfiguration) -> String {
        LocalListener.url(
            address: (configuration.admin.listen ?? configuration.server.listen).description, path: "/readyz")
    }

    /// GETs `url` (http, https, or `http+unix://` for a Unix socket) within `timeout`; ready means 200.
    public static func check(url: String, timeout: Duration) async -> Result {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        do {
            let deadline = NIODeadline.now() + .milliseconds(timeout.wholeMilliseconds)
            let response = try await HTTPClient.shared.execute(request, deadline: deadline)
            let body = try await response.body.collect(upTo: 64 * 1024)
            let text = String(buffer: body)
            return Result(isReady: response.status.code == 200, text: "\(response.status.code) \(text)")
        } catch {
            return Result(isReady: false, text: "cannot reach \(url): \(shortDescription(of: error))")
        }
    }
}
