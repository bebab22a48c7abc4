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
    let console: any StoreConsole
    let live: LiveSettings
    let redact: [JSONPointer]
    let logger: Logger
    /// Who the client is (behind trusted proxies), for the refusal limit.
    let clients: ClientAddress
    /// Failed authentications (API tokens and console sign-ins) per client.
    let refusals: FailedVerificationLimiter
    /// The console's sessions, which also hold the token; nil without a token (a loopback listener: the
    /// API answers this machine, the console is off).
    let sessions: ConsoleSessions?
    /// Where sessions, the failure limit and ages read the time.
    let clock: any RelayClock

    /// - Parameters:
    ///   - trustedProxies: `server.trusted_proxies`, whose `X-Forwarded-For` names the client.
    ///   - maxFailures: wrong tokens one client may send per minute before it is refused (429) for the
    ///     rest of that minute.
    public init(
        console: any StoreConsole,
        live: LiveSettings,
        token: String?,
        redact: [JSONPointer],
        trustedProxies: [IPNetwork] = [],
        maxFailures: Int = 10,
        clock: any RelayClock = SystemClock(),
        logger: Logger
    ) {
        self.clock = clock
        self.console = console
        self.live = live
        self.redact = redact
        self.logger = logger
        self.clients = ClientAddress(trustedProxies: trustedProxies)
        self.refusals = FailedVerificationLimiter(limit: maxFailures, windowSeconds: 60)
        self.sessions = token.map(ConsoleSessions.init(token:))
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

    /// Who API changes are logged as.
    static let apiOperator = "api-token"

    func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        let group = router.group("/api/v1")
        let who = Self.apiOperator
        group.get("/events") { request, context in
            try await handle(request, context) { try await listEvents($0) }
        }
        group.get("/events/:id") { request, context in
            try await handle(request, context) { _ in try await event(context.parameters.get("id") ?? "") }
        }
        group.get("/deliveries") { request, context in
            try await handle(request, context) { try await listDeliveries($0) }
        }
        group.get("/actions") { request, context in try await handle(request, context) { _ in try await actions() } }
        group.get("/reconciliations") { request, context in
            try await handle(request, context) { try await reconciliations($0) }
        }
        group.post("/deliveries/:id/retry") { request, context in
            try await handle(request, context) { _ in
                try await move(context.parameters.get("id") ?? "", retry: true, by: who)
            }
        }
        group.post("/deliveries/:id/skip") { request, context in
            try await handle(request, context) { _ in
                try await move(context.parameters.get("id") ?? "", retry: false, by: who)
            }
        }
        group.post("/events/:id/replay") { request, context in
            try await handle(request, context) { query in
                try await replay(context.parameters.get("id") ?? "", action: query["action"], by: who)
            }
        }
        group.post("/actions/:name/pause") { request, context in
            try await handle(request, context) { _ in
                try await pause(context.parameters.get("name") ?? "", true, by: who)
            }
        }
        group.post("/actions/:name/resume") { request, context in
            try await handle(request, context) { _ in
                try await pause(context.parameters.get("name") ?? "", false, by: who)
            }
        }
    }

    /// Checks the token, runs `body` with the query parameters, and answers JSON (or the error).
    ///
    /// A client that sent too many wrong tokens within a minute is refused (429) until the minute ends,
    /// before its token is even compared.
    private func handle(
        _ request: Request,
        _ context: some RemoteAddressRequestContext,
        _ body: @Sendable ([String: String]) async throws -> any Encodable & Sendable
    ) async throws -> Response {
        let client = clients.resolve(peer: context.remoteAddress, headers: request.headers)
        let now = clock.now
        if let seconds = refusals.blockedFor(client, now: now) {
            return Self.error(
                Failure(
                    status: .tooManyRequests, code: "too_many_failures",
                    message: "too many wrong tokens from this client; try again in \(seconds) s"),
                headers: [.retryAfter: "\(seconds)"])
        }
        // Without a token the API is for this machine only; a proxy (nginx) may be relaying the world.
        if sessions == nil, request.headers[.xForwardedFor] != nil {
            return Self.error(
                Failure(
                    status: .forbidden, code: "token_required",
                    message: "this request came through a proxy: set admin.token to use the API that way"))
        }
        guard authorized(request) else {
            refusals.recordFailure(client, now: now)
            logger.warning(
                "Refused an operator API request: missing or wrong token",
                metadata: ["relay.api.path": "\(request.uri.path)", LogKey.clientAddress: "\(client)"])
            return Self.error(
                Failure(
                    status: .unauthorized, code: "unauthorized", message: "Authorization: Bearer TOKEN is required"),
                headers: [.wwwAuthenticate: "Bearer"])
        }
        do {
            return Self.json(.ok, try await body(OperatorConsole.query(request)))
        } catch let failure as Failure {
            return Self.error(failure)
        } catch let error as StoreError {
            return Self.error(Failure(status: .serviceUnavailable, code: "store_unavailable", message: "\(error)"))
        }
    }

    /// Whether the request carries the token (always, without one).
    private func authorized(_ request: Request) -> Bool {
        guard let sessions else { return true }
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        return sessions.isToken(String(header.dropFirst("Bearer ".count)))
    }

    // MARK: - Reads
    //
    // The handlers are not optimised: Swift 6.3.1's optimiser crashed (signal 11, splitting the async
    // function's coroutine) on `move` in a release build. They run once per operator request.

    @_optimize(none)
    func listEvents(_ query: [String: String]) async throws -> EventPageView {
        let limit = try Self.limit(query)
        let filter = EventFilter(
            type: query["type"].nonEmpty, subject: query["subject"].nonEmpty, user: query["user"].nonEmpty,
            idPrefix: query["idPrefix"].nonEmpty,
            since: try Self.date(query, "since"),
            until: try Self.date(query, "until"), before: try query["after"].map(Self.sequence), limit: limit)
        let events = try await console.events(filter)
        return EventPageView(
            events: events.map(EventView.init),
            next: events.count == limit ? events.last.map { String($0.sequence) } : nil)
    }

    @_optimize(none)
    func event(_ id: String) async throws -> EventDetailView {
        guard let event = try await console.event(id: EventID(id)) else {
            throw Failure.notFound("no stored event has id \(id)")
        }
        return try await EventDetailView.load(
            event, console: console, routes: live.snapshot.routes, redact: redact, limit: Self.maxPage)
    }

    @_optimize(none)
    func listDeliveries(_ query: [String: String]) async throws -> DeliveryPageView {
        let limit = try Self.limit(query)
        var status: DeliveryStatus?
        let onlyBlocked = query["status"] == DeliveryView.blockedStatus
        if let text = query["status"].nonEmpty, !onlyBlocked {
            guard let parsed = DeliveryStatus(rawValue: text) else {
                throw Failure.badRequest(
                    "status must be one of \(DeliveryStatus.allCases.map(\.rawValue) + [DeliveryView.blockedStatus])")
            }
            status = parsed
        }
        let filter = DeliveryFilter(
            status: status, action: query["action"], eventID: query["event"].map(EventID.init),
            subject: query["subject"], since: try Self.date(query, "since"),
            before: try query["after"].map(Self.deliveryID), limit: limit)
        let blocksOnDead = Set(live.snapshot.settings.filter { $0.value.ordering?.deadBlocks == true }.keys)
        let (deliveries, blockers) = try await console.listDeliveries(
            filter, onlyBlocked: onlyBlocked, blocksOnDead: blocksOnDead)
        return DeliveryPageView(
            deliveries: deliveries.map { DeliveryView($0, blockedBy: blockers[$0.id]) },
            next: deliveries.count == limit ? deliveries.last.map { $0.id.description } : nil)
    }

    @_optimize(none)
    /// The newest reconciliation runs, scheduled and from the CLI (`limit`, default 50).
    func reconciliations(_ query: [String: String]) async throws -> ReconciliationListView {
        ReconciliationListView(runs: try await console.reconcileRuns(limit: try Self.limit(query)))
    }

    func actions() async throws -> ActionListView {
        ActionListView(actions: ActionView.all(try await console.actionSummaries(), configured: live.snapshot.settings))
    }

    // MARK: - Changes

    @_optimize(none)
    func move(_ id: String, retry: Bool, by who: String) async throws -> MovedDeliveryView {
        guard let delivery = DeliveryID(parsing: id) else { throw Failure.badRequest("not a delivery id: \(id)") }
        let moved = try await move([delivery], retry: retry, by: who)
        guard !moved.isEmpty else {
            throw Failure(
                status: .conflict, code: "not_applicable",
                message: retry
                    ? "\(delivery) is not a dead or failed delivery" : "\(delivery) is not pending, failed or dead")
        }
        return MovedDeliveryView(
            id: delivery.description, status: (retry ? DeliveryStatus.pending : .skipped).rawValue)
    }

    /// Retries (or skips) those of `ids` that can be, logging each one; returns them.
    @_optimize(none)
    func move(_ ids: [DeliveryID], retry: Bool, by who: String) async throws -> [DeliveryID] {
        let moved: [DeliveryID]
        if retry {
            moved = try await console.retry(ids, dryRun: false)
        } else {
            moved = try await console.skip(ids, dryRun: false)
        }
        for delivery in moved { audit(retry ? "retry" : "skip", ["relay.delivery.id": "\(delivery)"], by: who) }
        return moved
    }

    @_optimize(none)
    func replay(_ id: String, action: String?, by who: String) async throws -> ReplayView {
        guard let event = try await console.replayCandidates(ids: [EventID(id)]).first else {
            throw Failure.notFound("no stored event has id \(id)")
        }
        guard !event.isErased else {
            throw Failure(
                status: .conflict, code: "erased",
                message: "event \(id) was erased (its user was deleted): only its tombstone is stored")
        }
        let routed = live.snapshot.routes.actions(for: event.type, body: event.body)
        let actions = routed.filter { action == nil || $0 == action }
        guard !actions.isEmpty else {
            throw Failure(
                status: .conflict, code: "not_routed",
                message: "no route sends \(event.type) to \(action ?? "any action") now")
        }
        let created = try await console.replay(actions.map { ReplayStep(sequence: event.sequence, action: $0) })
        audit(
            "replay", ["relay.event.id": "\(event.id)", LogKey.action: "\(actions.joined(separator: ","))"], by: who)
        return ReplayView(
            event: event.id.rawValue,
            deliveries: zip(actions, created).map { ReplayView.Created(action: $0, id: $1?.description) })
    }

    @_optimize(none)
    func pause(_ name: String, _ paused: Bool, by who: String) async throws -> PausedActionView {
        guard live.snapshot.settings[name] != nil else {
            throw Failure.notFound("no action named \(name) is configured")
        }
        let changed = try await console.setPaused(name, paused)
        if changed { audit(paused ? "pause" : "resume", [LogKey.action: "\(name)"], by: who) }
        return PausedActionView(name: name, paused: paused, changed: changed)
    }

    /// Logs an operator's change and who made it: `api-token`, or `console:SESSION` (never a token).
    private func audit(_ change: String, _ metadata: Logger.Metadata, by who: String) {
        logger.notice(
            "Operator change",
            metadata: metadata.merging(["relay.operator": "\(who)", "relay.change": "\(change)"]) { first, _ in first })
    }

    // MARK: - Rendering

    /// Headers of every API and console answer: nothing cached, framed, sniffed or sent as a referrer,
    /// and (for pages) nothing loaded from elsewhere.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xFrameOptions: "DENY", .referrerPolicy: "no-referrer", .xContentTypeOptions: "nosniff",
        .cacheControl: "no-store",
    ]

    /// A JSON answer with the security headers.
    static func json(_ status: HTTPResponse.Status, _ body: some Encodable, headers: HTTPFields = [:]) -> Response {
        var fields = securityHeaders
        fields.append(contentsOf: headers)
        return JSONResponse.make(status: status, body: body, headers: fields)
    }

    static func error(_ failure: Failure, headers: HTTPFields = [:]) -> Response {
        json(failure.status, ErrorBody(code: failure.code, message: failure.message), headers: headers)
    }

    // MARK: - Parameters

    static func limit(_ query: [String: String]) throws -> Int {
        guard let text = query["limit"] else { return 50 }
        guard let limit = Int(text), (1...maxPage).contains(limit) else {
            throw Failure.badRequest("limit must be from 1 to \(maxPage)")
        }
        return limit
    }

    /// An ISO 8601 time; without an offset it is UTC, and seconds or the whole time of day may be left
    /// out (`2026-11-23T10:00`, `2026-11-23`), as a browser's date fields send them.
    static func date(_ query: [String: String], _ name: String) throws -> Date? {
        guard let text = query[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        for candidate in [text, text + "Z", text + ":00Z", text + "T00:00:00Z"] {
            if let date = try? Date(candidate, strategy: .iso8601) { return date }
        }
        throw Failure.badRequest("\(name) must be an ISO 8601 time such as 2026-11-23T10:00:00Z")
    }

    static func sequence(_ text: String) throws -> Int64 {
        guard let value = Int64(text), value > 0 else {
            throw Failure.badRequest("after must be an event sequence number")
        }
        return value
    }

    static func deliveryID(_ text: String) throws -> DeliveryID {
        guard let id = DeliveryID(parsing: text) else { throw Failure.badRequest("after must be a delivery id") }
        return id
    }
}

extension Optional<String> {
    /// The text, or nil when it is missing or empty (an empty form field filters nothing).
    var nonEmpty: String? {
        guard let self, !self.isEmpty else { return nil }
        return self
    }
}

extension HTTPField.Name {
    static let xFrameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
}
