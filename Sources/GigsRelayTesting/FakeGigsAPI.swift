import Foundation
import GigsRelay
import Hummingbird
import Logging
import ServiceLifecycle

/// A stand-in for the Gigs REST API: a real HTTP server in the test process, on a free loopback port.
///
/// It answers `GET /projects/{project}/sims/{sim}/credentials`, `/subscriptions/{id}` and `/users/{id}`
/// from the documents given, and lists (`/subscriptions?limit=…&after=…`) from the items given, newest
/// first, paged as Gigs pages them; it checks `Authorization: Bearer <token>` (401 with a Gigs error
/// object otherwise), and records every request path (with its query, for lists).
public final class FakeGigsAPI: Sendable {
    public let token: String
    public let project: String
    private let port = Locked<Int?>(nil)
    private let seen = Locked<[String]>([])
    /// Answers still to give instead of the documents: (status, Retry-After seconds).
    private let failures = Locked<[(Int, Int)]>([])
    /// Requests still to answer normally before the failures start.
    private let passBeforeFailing = Locked(0)
    /// The running server, stopped by a graceful shutdown: cancelling its task could drop a connection
    /// it had just accepted, which SwiftNIO traps on.
    private let group = Locked<ServiceGroup?>(nil)

    /// - Parameters:
    ///   - documents: JSON answers by path below the project, e.g. `"sims/sim_1/credentials"`.
    ///   - lists: the items of each list below the project (e.g. `"subscriptions"`), newest first, each a
    ///     JSON object with an `id`.
    ///   - pageLimit: the most items a page holds, whatever `limit` asks (a server may send fewer).
    public init(
        token: String = "gigs-test-token", project: String = "dev-project", documents: [String: String],
        lists: [String: [String]] = [:],
        pageLimit: Int = 200
    ) async throws {
        self.token = token
        self.project = project
        let router = Router()
        let seen = self.seen
        let failures = self.failures
        let passBeforeFailing = self.passBeforeFailing
        let expected = "Bearer \(token)"
        let pages = lists.mapValues { items in
            items.map { item in (id: JSONValue(parsing: Array(item.utf8))?["id"]?.string ?? "", json: item) }
        }
        router.get("/projects/:project/**") { request, context -> Response in
            seen.withLock { $0.append(request.uri.query.map { request.uri.path + "?" + $0 } ?? request.uri.path) }
            let passes = passBeforeFailing.withLock { count in
                defer { count = max(count - 1, 0) }
                return count > 0
            }
            if !passes, let (status, retryAfter) = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
                guard status != 0 else {
                    // A black hole: no answer for `retryAfter` seconds.
                    try await Task.sleep(for: .seconds(retryAfter))
                    return Self.json(.serviceUnavailable, #"{"object":"error","type":"late","message":"Too late"}"#)
                }
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
            if request.uri.path.hasPrefix(prefix), let items = pages[String(request.uri.path.dropFirst(prefix.count))] {
                return Self.page(of: items, query: request.uri.queryParameters, pageLimit: pageLimit)
            }
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
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [application], logger: Logger(label: "fake-gigs-api") { _ in SwiftLogNoOpLogHandler() }))
        self.group.withLock { $0 = group }
        Task { try await group.run() }
        try await eventually(timeout: .seconds(30), "the fake Gigs API to listen") { port.value != nil }
    }

    private static func json(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }

    /// The page after the `after` cursor (an item's id), of `limit` items.
    private static func page(of items: [(id: String, json: String)], query: Parameters, pageLimit: Int) -> Response {
        let limit = min(max(query["limit"].flatMap { Int($0) } ?? 10, 1), pageLimit)
        var start = 0
        if let after = query["after"].map(String.init) {
            guard let index = items.firstIndex(where: { $0.id == after }) else {
                return json(.badRequest, #"{"object":"error","type":"invalid_cursor","message":"Unknown cursor"}"#)
            }
            start = index + 1
        }
        let page = items[min(start, items.count)..<min(start + limit, items.count)]
        let next = start + limit < items.count ? page.last.map { "\"\($0.id)\"" } ?? "null" : "null"
        return json(
            .ok,
            #"{"object":"list","items":["# + page.map(\.json).joined(separator: ",")
                + #"],"moreItemsAfter":\#(next),"moreItemsBefore":null}"#)
    }

    /// The base URL for `[gigs] api_url`.
    public var url: String { "http://127.0.0.1:\(port.value ?? 0)" }

    /// Answers the next `count` requests with `status` (429 or a 5xx) and `Retry-After: retryAfter`.
    public func fail(next count: Int, status: Int = 429, retryAfter: Int = 1) {
        failures.withLock { $0 += Array(repeating: (status, retryAfter), count: count) }
    }

    /// After `passing` more requests are answered, answers the next ones with these (status,
    /// `Retry-After` seconds) pairs, one each; status 0 answers nothing for that many seconds.
    public func fail(after passing: Int, with answers: [(status: Int, retryAfter: Int)]) {
        passBeforeFailing.withLock { $0 = passing }
        failures.withLock { $0 += answers.map { ($0.status, $0.retryAfter) } }
    }

    /// The paths requested so far.
    public var requests: [String] { seen.value }

    /// Stops the server.
    public func stop() {
        guard let group = group.withLock({ $0 }) else { return }
        Task { await group.triggerGracefulShutdown() }
    }

    deinit {
        stop()
    }
}
