import Foundation
import Hummingbird
import Logging

/// A stand-in for the Gigs REST API: a real HTTP server in the test process, on a free loopback port.
///
/// It answers `GET /projects/{project}/sims/{sim}/credentials`, `/subscriptions/{id}` and `/users/{id}`
/// from the documents given, checks `Authorization: Bearer <token>` (401 with a Gigs error object
/// otherwise), and records every request path.
public final class FakeGigsAPI: Sendable {
    public let token: String
    public let project: String
    private let port = Locked<Int?>(nil)
    private let seen = Locked<[String]>([])
    /// Answers still to give instead of the documents: (status, Retry-After seconds).
    private let failures = Locked<[(Int, Int)]>([])
    private let task = Locked<Task<Void, any Error>?>(nil)

    /// - Parameters:
    ///   - documents: JSON answers by path below the project, e.g. `"sims/sim_1/credentials"`.
    public init(token: String = "gigs-test-token", project: String = "dev-project", documents: [String: String])
        async throws
    {
        self.token = token
        self.project = project
        let router = Router()
        let seen = self.seen
        let failures = self.failures
        let expected = "Bearer \(token)"
        router.get("/projects/:project/**") { request, context -> Response in
            seen.withLock { $0.append(request.uri.path) }
            if let (status, retryAfter) = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                var response = Self.json(
                    HTTPResponse.Status(code: status),
                    #"{"object":"error","type":"rate_limited","message":"Too many requests"}"#)
                response.headers[.retryAfter] = "\(retryAfter)"
                return response
            }
            guard request.headers[.authorization] == expected else {
                return Self.json(
                    .unauthorized, #"{"object":"error","type":"unauthorized","message":"Invalid API key"}"#)
            }
            let prefix = "/projects/\(project)/"
            guard request.uri.path.hasPrefix(prefix),
                let document = documents[String(request.uri.path.dropFirst(prefix.count))]
            else {
                return Self.json(.notFound, #"{"object":"error","type":"not_found","message":"No such resource"}"#)
            }
            return Self.json(.ok, document)
        }
        let port = self.port
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in port.withLock { $0 = channel.localAddress?.port } },
            logger: Logger(label: "fake-gigs-api") { _ in SwiftLogNoOpLogHandler() }
        )
        task.withLock { $0 = Task { try await application.runService(gracefulShutdownSignals: []) } }
        try await eventually(timeout: .seconds(30), "the fake Gigs API to listen") { port.value != nil }
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// The base URL for `[gigs] api_url`.
    public var url: String { "http://127.0.0.1:\(port.value ?? 0)" }

    /// Answers the next `count` requests with `status` (429 or a 5xx) and `Retry-After: retryAfter`.
    public func fail(next count: Int, status: Int = 429, retryAfter: Int = 1) {
        failures.withLock { $0 += Array(repeating: (status, retryAfter), count: count) }
    }

    /// The paths requested so far.
    public var requests: [String] { seen.value }

    /// Stops the server.
    public func stop() {
        task.withLock { $0?.cancel() }
    }

    deinit {
        stop()
    }
}
