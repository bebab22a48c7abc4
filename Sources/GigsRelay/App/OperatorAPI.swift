import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOPosix

/// The operators' JSON API under `/api/v1` on the admin listener: events, deliveries and actions to read,
/// and retry, skip, replay, pause and resume to act. Every request needs `Authorization: Bearer TOKEN`
/// when `admin.token` is set (it must be, unless the listener is loopback); every change is logged with
/// who made it. Payload fields named by `admin.redact` are masked.
public struct OperatorAPI: Sendable {
    /// Most rows one page may hold.
    static let maxPage = 1000
    /// What a redacted value becomes.
    static let redacted = "[redacted]"

    let console: any StoreConsole
    let live: LiveSettings
    /// The token's bytes; nil: no token (a loopback listener).
    let token: [UInt8]?
    let redact: [JSONPointer]
    let logger: Logger

    public init(
        console: any StoreConsole,
        live: LiveSettings,
        token: String?,
        redact: [JSONPointer],
        logger: Logger
    ) {
        self.console = console
        self.live = live
        self.token = token.map { Array($0.utf8) }
        self.redact = redact
        self.logger = logger
    }

    /// An API error: status, code and message.
    struct Failure: Error {
        let status: HTTPResponse.Status
        let code: String
        let message: String

        static func badRequest(_ message: String) -> Failure {
            Failure(status: .badRequest, code: "bad_request", message: message)
        }
        static func notFound(_ message: String) -> Failure {
            Failure(status: .notFound, code: "not_found", message: message)
        }
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        let group = router.group("/api/v1")
        group.get("/events") { request, _ in try await handle(request) { try await listEvents($0) } }
        group.get("/events/:id") { request, context in
            try await handle(request) { _ in try await event(context.parameters.get("id") ?? "") }
        }
        group.get("/deliveries") { request, _ in try await handle(request) { try await listDeliveries($0) } }
        group.get("/actions") { request, _ in try await handle(request) { _ in try await actions() } }
        group.post("/deliveries/:id/retry") { request, context in
            try await handle(request) { _ in try await move(context.parameters.get("id") ?? "", retry: true) }
        }
        group.post("/deliveries/:id/skip") { request, context in
            try await handle(request) { _ in try await move(context.parameters.get("id") ?? "", retry: false) }
        }
        group.post("/events/:id/replay") { request, context in
            try await handle(request) { query in
                try await replay(context.parameters.get("id") ?? "", action: query["action"])
            }
        }
        group.post("/actions/:name/pause") { request, context in
            try await handle(request) { _ in try await pause(context.parameters.get("name") ?? "", true) }
        }
        group.post("/actions/:name/resume") { request, context in
            try await handle(request) { _ in try await pause(context.parameters.get("name") ?? "", false) }
        }
    }

    /// Checks the token, runs `body` with the query parameters, and answers JSON (or the error).
    private func handle(
        _ request: Request,
        _ body: @Sendable ([String: String]) async throws -> [String: Any]
    ) async throws -> Response {
        guard authorized(request) else {
            logger.warning(
                "Refused an operator API request: missing or wrong token",
                metadata: ["relay.api.path": "\(request.uri.path)"])
            return Self.error(
                Failure(
                    status: .unauthorized, code: "unauthorized", message: "Authorization: Bearer TOKEN is required"),
                headers: [.wwwAuthenticate: "Bearer"])
        }
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        do {
            let object = try await body(query)
            return Self.json(.ok, object)
        } catch let failure as Failure {
            return Self.error(failure)
        } catch let error as StoreError {
            return Self.error(Failure(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)"))
        }
    }

    /// Whether the request carries the token (always, without one).
    private func authorized(_ request: Request) -> Bool {
        guard let token else { return true }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.utf8.dropFirst("Bearer ".utf8.count))
        return given.count == token.count && HMACSHA256.constantTimeEquals(given, token)
    }

    // MARK: - Reads
    //
    // The handlers are not optimised: Swift 6.3.1's optimiser crashed (signal 11, splitting the async
    // function's coroutine) on `move` in a release build. They run once per operator request.

    @_optimize(none)
    private func listEvents(_ query: [String: String]) async throws -> [String: Any] {
        let limit = try Self.limit(query)
        let filter = EventFilter(
            type: query["type"], subject: query["subject"], since: try Self.date(query, "since"),
            until: try Self.date(query, "until"), before: try query["after"].map(Self.sequence), limit: limit)
        let events = try await console.events(filter)
        return [
            "events": events.map(Self.summary),
            "next": events.count == limit ? (events.last.map { String($0.sequence) } as Any) : NSNull(),
        ]
    }

    @_optimize(none)
    private func event(_ id: String) async throws -> [String: Any] {
        guard let event = try await console.event(id: EventID(id)) else {
            throw Failure.notFound("no stored event has id \(id)")
        }
        var object = Self.summary(event)
        object["webhookTimestamp"] = event.webhookTimestamp
        object["event"] = redacted(event.body)
        let routes = live.snapshot.routes
        object["routes"] = routes.matching(type: event.type, body: event.body).map { index in
            ["route": index + 1, "actions": routes[index].actions] as [String: Any]
        }
        var deliveries: [[String: Any]] = []
        for delivery in try await console.deliveries(DeliveryFilter(eventID: event.id, limit: Self.maxPage)) {
            var row = Self.summary(delivery)
            row["attempts"] = try await console.attempts(of: delivery.id).map(Self.attempt)
            deliveries.append(row)
        }
        object["deliveries"] = deliveries
        return object
    }

    @_optimize(none)
    private func listDeliveries(_ query: [String: String]) async throws -> [String: Any] {
        let limit = try Self.limit(query)
        var status: DeliveryStatus?
        if let text = query["status"] {
            guard let parsed = DeliveryStatus(rawValue: text) else {
                throw Failure.badRequest("status must be one of \(DeliveryStatus.allCases.map(\.rawValue))")
            }
            status = parsed
        }
        let filter = DeliveryFilter(
            status: status, action: query["action"], eventID: query["event"].map(EventID.init),
            subject: query["subject"], since: try Self.date(query, "since"),
            before: try query["after"].map(Self.deliveryID), limit: limit)
        let deliveries = try await console.deliveries(filter)
        return [
            "deliveries": deliveries.map(Self.summary),
            "next": deliveries.count == limit ? (deliveries.last.map { $0.id.description } as Any) : NSNull(),
        ]
    }

    @_optimize(none)
    private func actions() async throws -> [String: Any] {
        let settings = live.snapshot.settings
        var byName = Dictionary(
            try await console.actionSummaries().map { ($0.action, $0) }, uniquingKeysWith: { first, _ in first })
        for name in settings.keys where byName[name] == nil { byName[name] = ActionSummary(action: name) }
        return [
            "actions": byName.keys.sorted().compactMap { name -> [String: Any]? in
                guard let summary = byName[name] else { return nil }
                return [
                    "name": name, "kind": settings[name]?.kindName ?? NSNull(), "paused": summary.isPaused,
                    "circuit": summary.circuit.rawValue, "inFlight": summary.running, "pending": summary.waiting,
                    "dead": summary.dead, "lastError": summary.lastError ?? NSNull(),
                ]
            }
        ]
    }

    // MARK: - Changes

    @_optimize(none)
    private func move(_ id: String, retry: Bool) async throws -> [String: Any] {
        guard let delivery = DeliveryID(parsing: id) else { throw Failure.badRequest("not a delivery id: \(id)") }
        let moved: [DeliveryID]
        if retry {
            moved = try await console.retry([delivery], dryRun: false)
        } else {
            moved = try await console.skip([delivery], dryRun: false)
        }
        guard !moved.isEmpty else {
            throw Failure(
                status: .conflict, code: "not_applicable",
                message: retry
                    ? "\(delivery) is not a dead or failed delivery" : "\(delivery) is not pending, failed or dead")
        }
        audit(retry ? "retry" : "skip", ["relay.delivery.id": "\(delivery)"])
        return ["id": delivery.description, "status": retry ? "pending" : "skipped"]
    }

    @_optimize(none)
    private func replay(_ id: String, action: String?) async throws -> [String: Any] {
        guard let event = try await console.replayCandidates(ids: [EventID(id)]).first else {
            throw Failure.notFound("no stored event has id \(id)")
        }
        let routed = live.snapshot.routes.actions(for: event.type, body: event.body)
        let actions = routed.filter { action == nil || $0 == action }
        guard !actions.isEmpty else {
            throw Failure(
                status: .conflict, code: "not_routed",
                message: "no route sends \(event.type) to \(action ?? "any action") now")
        }
        let created = try await console.replay(actions.map { ReplayStep(sequence: event.sequence, action: $0) })
        audit("replay", ["relay.event.id": "\(event.id)", LogKey.action: "\(actions.joined(separator: ","))"])
        return [
            "event": event.id.rawValue,
            "deliveries": zip(actions, created).map { action, delivery in
                ["action": action, "id": delivery?.description ?? NSNull()] as [String: Any]
            },
        ]
    }

    @_optimize(none)
    private func pause(_ name: String, _ paused: Bool) async throws -> [String: Any] {
        guard live.snapshot.settings[name] != nil else {
            throw Failure.notFound("no action named \(name) is configured")
        }
        let changed = try await console.setPaused(name, paused)
        if changed { audit(paused ? "pause" : "resume", [LogKey.action: "\(name)"]) }
        return ["name": name, "paused": paused, "changed": changed]
    }

    /// Logs an operator's change and who made it (the API token, never its value).
    private func audit(_ change: String, _ metadata: Logger.Metadata) {
        logger.notice(
            "Operator change",
            metadata: metadata.merging(["relay.operator": "api-token", "relay.change": "\(change)"]) { first, _ in first
            })
    }

    // MARK: - Rendering

    /// The stored JSON with the `admin.redact` fields masked; the raw text when it is not JSON.
    func redacted(_ body: [UInt8]) -> Any {
        guard var document = try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) else {
            return String(decoding: body, as: UTF8.self)
        }
        for pointer in redact {
            document = Self.mask(document, at: pointer.tokens[...])
        }
        return document
    }

    private static func mask(_ value: Any, at tokens: ArraySlice<String>) -> Any {
        guard let token = tokens.first else { return redacted }
        if var object = value as? [String: Any], let inner = object[token] {
            object[token] = mask(inner, at: tokens.dropFirst())
            return object
        }
        if var array = value as? [Any], let index = Int(token), array.indices.contains(index) {
            array[index] = mask(array[index], at: tokens.dropFirst())
            return array
        }
        return value
    }

    static func summary(_ event: StoredEvent) -> [String: Any] {
        [
            "sequence": event.sequence, "id": event.id.rawValue, "type": event.type,
            "receivedAt": timestamp(event.receivedAt), "messageId": event.messageID,
            "project": event.project ?? NSNull(), "time": event.time ?? NSNull(), "subject": event.subject ?? NSNull(),
        ]
    }

    static func summary(_ delivery: StoredDelivery) -> [String: Any] {
        [
            "id": delivery.id.description, "eventId": delivery.eventID.rawValue, "eventType": delivery.eventType,
            "action": delivery.action, "status": delivery.status.rawValue, "attemptCount": delivery.attempts,
            "lastError": delivery.lastError ?? NSNull(),
            "nextAttemptAt": delivery.nextAttemptAt.map(timestamp) ?? NSNull(), "replay": delivery.isReplay,
            "subject": delivery.subject ?? NSNull(), "outOfOrder": delivery.isOutOfOrder,
            "createdAt": timestamp(delivery.createdAt), "updatedAt": timestamp(delivery.updatedAt),
        ]
    }

    static func attempt(_ attempt: StoredAttempt) -> [String: Any] {
        [
            "number": attempt.number, "startedAt": timestamp(attempt.startedAt),
            "durationMs": attempt.durationMilliseconds, "outcome": attempt.outcome, "error": attempt.error ?? NSNull(),
        ]
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any], headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = "no-store"
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func error(_ failure: Failure, headers: HTTPFields = [:]) -> Response {
        json(failure.status, ["error": ["code": failure.code, "message": failure.message]], headers: headers)
    }

    // MARK: - Parameters

    private static func limit(_ query: [String: String]) throws -> Int {
        guard let text = query["limit"] else { return 50 }
        guard let limit = Int(text), (1...maxPage).contains(limit) else {
            throw Failure.badRequest("limit must be from 1 to \(maxPage)")
        }
        return limit
    }

    private static func date(_ query: [String: String], _ name: String) throws -> Date? {
        guard let text = query[name] else { return nil }
        guard let date = try? Date(text, strategy: .iso8601) else {
            throw Failure.badRequest("\(name) must be an ISO 8601 time such as 2026-11-23T10:00:00Z")
        }
        return date
    }

    private static func sequence(_ text: String) throws -> Int64 {
        guard let value = Int64(text), value > 0 else {
            throw Failure.badRequest("after must be an event sequence number")
        }
        return value
    }

    private static func deliveryID(_ text: String) throws -> DeliveryID {
        guard let id = DeliveryID(parsing: text) else { throw Failure.badRequest("after must be a delivery id") }
        return id
    }
}
