import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The few Gigs REST calls the install-link action needs (`Authorization: Bearer`, JSON).
///
/// 429 and 5xx become retryable errors carrying `Retry-After`; the dispatcher's backoff honours it.
/// Gigs error objects (`{"object":"error","type","message"}`) become readable messages.
public struct GigsAPIClient: Sendable {
    private let baseURL: String
    private let project: String
    private let token: Credential
    private let client: HTTPClient

    public init(configuration: GigsAPIConfiguration, token: Credential, client: HTTPClient) {
        var base = configuration.apiURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.project = configuration.project
        self.token = token
        self.client = client
    }

    /// The subscription's SIM (`{id, type}`) and user (an object or an id).
    public struct Subscription: Decodable, Sendable {
        public let sim: SIMReference?
        public let user: UserReference?
    }

    public struct SIMReference: Decodable, Sendable {
        public let id: String
        public let type: String?
    }

    /// `user` is embedded in some payloads and only an id in others.
    public enum UserReference: Decodable, Sendable {
        case id(String)
        case user(User)

        public init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let id = try? container.decode(String.self) {
                self = .id(id)
            } else {
                self = .user(try container.decode(User.self))
            }
        }
    }

    public struct User: Decodable, Sendable {
        public let id: String
        public let email: String?
        public let fullName: String?
        public let preferredLocale: String?
    }

    public func subscription(_ id: String) async throws(GigsAPIError) -> Subscription {
        try await get("subscriptions/\(id)")
    }

    public func user(_ id: String) async throws(GigsAPIError) -> User {
        try await get("users/\(id)")
    }

    public func simCredentials(sim: String) async throws(GigsAPIError) -> SIMCredentials {
        try await get("sims/\(sim)/credentials")
    }

    private struct ErrorObject: Decodable {
        let type: String?
        let message: String?
    }

    /// `type: message` of a Gigs error object (`{"object":"error","type","message"}`), bounded; empty when
    /// the body is not one. The body comes from the network: any bytes must do.
    static func errorDetail(_ body: [UInt8]) -> String {
        guard let error = try? JSONDecoder().decode(ErrorObject.self, from: Data(body)) else { return "" }
        return [error.type, error.message].compactMap { $0 }.joined(separator: ": ").bounded(200)
    }

    private func get<Value: Decodable>(_ path: String) async throws(GigsAPIError) -> Value {
        guard path.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "/" }) else {
            throw GigsAPIError(
                message: "refused to call Gigs with an unexpected id", isRetryable: false, retryAfter: nil)
        }
        var request = HTTPClientRequest(url: "\(baseURL)/projects/\(project)/\(path)")
        request.headers.add(name: "Authorization", value: "Bearer \(token.revealed)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "gigs-relay")
        let status: Int
        let headers: HTTPHeaders
        let body: ByteBuffer
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            status = Int(response.status.code)
            headers = response.headers
            body = try await response.body.collect(upTo: 1 << 20)
        } catch {
            throw GigsAPIError(
                message: "Gigs API unreachable: \(HTTPAction.describe(error))",
                isRetryable: true,
                retryAfter: nil
            )
        }
        let endpoint = path.split(separator: "/").first.map(String.init) ?? path
        guard (200..<300).contains(status) else {
            let detail = Self.errorDetail(Array(body.readableBytesView))
            throw GigsAPIError(
                message: "Gigs API \(endpoint) answered \(status)\(detail.isEmpty ? "" : " (\(detail))")",
                isRetryable: status == 408 || status == 429 || status >= 500,
                retryAfter: headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
            )
        }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body.readableBytesView))
        } catch {
            throw GigsAPIError(
                message: "Gigs API \(endpoint) answered an unexpected document", isRetryable: true, retryAfter: nil)
        }
    }
}
