import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The few Gigs REST calls gigs-relay makes (`Authorization: Bearer`, JSON): the install-link action's
/// lookups and reconciliation's lists.
///
/// 429 and 5xx become retryable errors carrying `Retry-After`; the dispatcher's backoff honours it.
/// Gigs error objects (`{"object":"error","type","message"}`) become readable messages.
public struct GigsAPIClient: Sendable {
    private let baseURL: String
    /// The project id every call is under.
    public let project: String
    private let token: Credential
    private let timeout: TimeAmount
    private let client: HTTPClient

    public init(configuration: GigsAPIConfiguration, token: Credential, client: HTTPClient) {
        var base = configuration.apiURL.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.project = configuration.project
        self.token = token
        self.timeout = .seconds(Int64(configuration.timeoutSeconds))
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

    /// One page of a list (`{object:"list", items, moreItemsAfter}`), newest first.
    public struct Page: Decodable, Sendable {
        /// Each item as sent: unknown fields kept, any of them possibly null.
        public let items: [JSONValue]
        /// The cursor of the next (older) page; nil on the last.
        public let moreItemsAfter: String?
    }

    /// A page of `collection` (`subscriptions`, `subscriptionChanges`): at most `limit` items (1–200),
    /// those after the cursor `after`.
    public func list(_ collection: String, limit: Int, after: String?) async throws(GigsAPIError) -> Page {
        var query = "limit=\(min(max(limit, 1), 200))"
        if let after {
            // A cursor is an id from the API's own answer: opaque, and sent back escaped.
            guard after.utf8.count <= 200,
                let escaped = after.addingPercentEncoding(withAllowedCharacters: Self.cursorCharacters)
            else {
                throw GigsAPIError(
                    message: "Gigs API \(collection) answered an unusable cursor", isRetryable: false, retryAfter: nil)
            }
            query += "&after=\(escaped)"
        }
        return try await get(collection, query: query, limit: Self.maximumPageBytes)
    }

    /// What a cursor may hold unescaped in a query.
    private static let cursorCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_."))

    private struct ErrorObject: Decodable {
        let type: String?
        let message: String?
    }

    /// `type: message` of a Gigs error object (`{"object":"error","type","message"}`), bounded; empty when
    /// the body is not one. The body comes from the network: any bytes must do.
    package static func errorDetail(_ body: [UInt8]) -> String {
        guard let error = try? JSONDecoder().decode(ErrorObject.self, from: Data(body)) else { return "" }
        return [error.type, error.message].compactMap { $0 }.joined(separator: ": ").bounded(200)
    }

    /// Largest answer read for a document, a list page (200 items with embedded users and SIMs), and
    /// for an error object.
    static let maximumDocumentBytes = 1 << 20
    static let maximumPageBytes = 8 << 20
    static let maximumErrorBytes = 64 * 1024

    /// A non-2xx answer: 408, 429 and 5xx may pass (honouring `Retry-After`), other statuses will not.
    private static func statusError(endpoint: String, status: Int, headers: HTTPHeaders, detail: String)
        -> GigsAPIError
    {
        GigsAPIError(
            message: "Gigs API \(endpoint) answered \(status)\(detail.isEmpty ? "" : " (\(detail))")",
            isRetryable: status == 408 || status == 429 || status >= 500,
            retryAfter: headers.first(name: "Retry-After").flatMap { RetryAfter.parse($0) }
        )
    }

    private func get<Value: Decodable>(_ path: String, query: String? = nil, limit documentLimit: Int? = nil)
        async throws(GigsAPIError) -> Value
    {
        guard path.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == "/" }) else {
            throw GigsAPIError(
                message: "refused to call Gigs with an unexpected id", isRetryable: false, retryAfter: nil)
        }
        var request = HTTPClientRequest(url: "\(baseURL)/projects/\(project)/\(path)\(query.map { "?" + $0 } ?? "")")
        request.headers.add(name: "Authorization", value: "Bearer \(token.revealed)")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "gigs-relay")
        let endpoint = path.split(separator: "/").first.map(String.init) ?? path
        // One deadline for the call, its answer's body included.
        let deadline = NIODeadline.now() + timeout
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, deadline: deadline)
        } catch let error as HTTPClientError where error == .deadlineExceeded {
            throw GigsAPIError(
                message: "Gigs API \(endpoint) did not answer within \(timeout.nanoseconds / 1_000_000_000) s",
                isRetryable: true, retryAfter: nil)
        } catch {
            throw GigsAPIError(
                message: "Gigs API unreachable: \(shortDescription(of: error))", isRetryable: true, retryAfter: nil)
        }
        let status = Int(response.status.code)
        let success = (200..<300).contains(status)
        // Only a bounded answer is read: a document is small, an error object smaller still.
        let limit = success ? documentLimit ?? Self.maximumDocumentBytes : Self.maximumErrorBytes
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            guard success else {
                throw Self.statusError(endpoint: endpoint, status: status, headers: response.headers, detail: "")
            }
            throw GigsAPIError(
                message: "Gigs API \(endpoint) answered more than \(limit) bytes", isRetryable: true, retryAfter: nil)
        } catch {
            throw GigsAPIError(
                message: "Gigs API \(endpoint) answer broke off: \(shortDescription(of: error))", isRetryable: true,
                retryAfter: nil)
        }
        guard success else {
            throw Self.statusError(
                endpoint: endpoint, status: status, headers: response.headers,
                detail: Self.errorDetail(Array(body.readableBytesView)))
        }
        do {
            return try JSONDecoder().decode(Value.self, from: Data(body.readableBytesView))
        } catch {
            throw GigsAPIError(
                message: "Gigs API \(endpoint) answered an unexpected document", isRetryable: true, retryAfter: nil)
        }
    }
}
