import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore

/// The operators' web console under `/console` on the admin listener: server-rendered pages over the
/// same reads and changes as ``OperatorAPI``.
///
/// - Sign-in takes `admin.token` and sets a signed session cookie (``ConsoleSessions``): `HttpOnly`,
///   `SameSite=Strict`, and `Secure` when a trusted proxy says the request came over HTTPS. Without an
///   `admin.token` the console is off.
/// - Every change is a POST carrying the session's CSRF token; a missing or wrong one is refused (403)
///   before anything changes. Changes are logged as `Operator change` with `console:SESSION` as who.
/// - Wrong tokens count against the client with the API's: too many within a minute are refused (429).
/// - Every answer carries a strict Content-Security-Policy, `X-Frame-Options: DENY` and
///   `Referrer-Policy: no-referrer`; links and redirects are relative, so a proxy may add a path prefix.
struct OperatorConsole: Sendable {
    /// Most bytes of a submitted form.
    static let maxFormBytes = 256 * 1024
    /// Most deliveries one retry or skip may name.
    static let maxFormIDs = OperatorAPI.maxPage
    /// Rows per page.
    static let pageSize = 50

    let api: OperatorAPI
    /// Nil without `admin.token`: the console is off.
    var sessions: ConsoleSessions? { api.sessions }
    let observability: Observability

    private var logger: Logger { api.logger }

    func add<Context: RemoteAddressRequestContext>(to router: Router<Context>) {
        router.get("/console") { _, _ in Self.redirect(to: "console/overview") }
        let group = router.group("/console")
        group.get("/style.css") { _, _ in
            Self.asset(ConsoleTemplates.stylesheet, type: "text/css; charset=utf-8")
        }
        group.get("/icon.svg") { _, _ in Self.asset(ConsoleTemplates.icon, type: "image/svg+xml") }
        group.get("/console.js") { _, _ in
            Self.asset(ConsoleTemplates.script, type: "text/javascript; charset=utf-8")
        }
        group.get("/sign-in") { request, context in signInForm(request, context, error: nil, status: .ok) }
        group.post("/sign-in") { request, context in try await signIn(request, context) }
        group.post("/sign-out") { request, context in
            try await change(request, context) { session, _ in
                sessions?.revoke(session, now: nowSeconds)
                logger.notice("Console sign-out", metadata: ["relay.operator": "console:\(session.id)"])
                var response = Self.redirect(to: "sign-in")
                response.setCookie(Self.expired(ConsoleSessions.cookie, secure: secure(request, context)))
                return response
            }
        }
        group.get("/overview") { request, context in
            try await page(request, context) { try await overview() }
        }
        group.get("/overview.json") { request, context in
            guard session(request) != nil else {
                return OperatorAPI.error(.init(status: .unauthorized, code: "unauthorized", message: "sign in"))
            }
            return OperatorAPI.json(.ok, try await counts())
        }
        group.get("/events") { request, context in
            try await page(request, context) { try await events(Self.query(request)) }
        }
        group.get("/events/:id") { request, context in
            let id = context.parameters.get("id").map { $0.removingPercentEncoding ?? $0 } ?? ""
            return try await page(request, context) { try await event(id) }
        }
        group.get("/dead") { request, context in
            try await page(request, context) { try await dead(Self.query(request)) }
        }
        group.get("/reconciliation") { request, context in
            try await page(request, context) { try await reconciliation() }
        }
        for (path, retry) in [("/retry", true), ("/skip", false)] {
            group.post(RouterPath(stringLiteral: path)) { request, context in
                try await change(request, context) { session, form in
                    let ids = form.values("id").prefix(Self.maxFormIDs).compactMap(DeliveryID.init(parsing:))
                    let moved = try await api.move(ids, retry: retry, by: "console:\(session.id)")
                    return Self.redirect(back: form, done: retry ? "retry" : "skip", count: moved.count)
                }
            }
        }
        group.post("/replay") { request, context in
            try await change(request, context) { session, form in
                let result = try await api.replay(
                    form.value("event") ?? "", action: form.value("action").nonEmpty, by: "console:\(session.id)")
                return Self.redirect(back: form, done: "replay", count: result.deliveries.count)
            }
        }
        for (path, paused) in [("/pause", true), ("/resume", false)] {
            group.post(RouterPath(stringLiteral: path)) { request, context in
                try await change(request, context) { session, form in
                    _ = try await api.pause(form.value("action") ?? "", paused, by: "console:\(session.id)")
                    return Self.redirect(back: form, done: paused ? "pause" : "resume", count: 1)
                }
            }
        }
    }

    // MARK: - Sign-in

    private func signInForm(
        _ request: Request,
        _ context: some RemoteAddressRequestContext,
        error: String?,
        status: HTTPResponse.Status
    ) -> Response {
        guard let sessions else { return disabled() }
        if error == nil, session(request) != nil { return Self.redirect(to: "overview") }
        let nonce = sessions.signInNonce()
        var response = render(
            "sign-in", ConsolePage(title: "Sign in", content: SignInContent(nonce: nonce, error: error)), status: status
        )
        response.setCookie(
            Cookie(
                name: ConsoleSessions.signInCookie, value: nonce, maxAge: 3600, secure: secure(request, context),
                httpOnly: true, sameSite: .strict))
        return response
    }

    private func signIn(_ request: Request, _ context: some RemoteAddressRequestContext) async throws -> Response {
        guard let sessions else { return disabled() }
        let client = api.clients.resolve(peer: context.remoteAddress, headers: request.headers)
        let now = api.clock.now
        if let seconds = api.refusals.blockedFor(client, now: now) {
            var response = message(
                "Too many failed sign-ins", "Too many wrong tokens from this address. Try again in \(seconds) s.",
                status: .tooManyRequests)
            response.headers[.retryAfter] = "\(seconds)"
            return response
        }
        guard let form = try await Self.form(request, context) else { return unsupportedForm() }
        guard let nonce = request.cookies[ConsoleSessions.signInCookie]?.value, form.value("nonce") == nonce else {
            return message(
                "Sign-in form expired", "The sign-in form expired or was not sent from this console. Load it again.",
                status: .forbidden, link: ("sign-in", "Sign in"))
        }
        guard sessions.isToken(form.value("token") ?? "") else {
            api.refusals.recordFailure(client, now: now)
            logger.warning("Console sign-in refused: wrong token", metadata: [LogKey.clientAddress: "\(client)"])
            return signInForm(request, context, error: "That is not the admin token.", status: .unauthorized)
        }
        let (session, cookie) = sessions.start(now: now / 1000)
        logger.notice(
            "Console sign-in", metadata: ["relay.operator": "console:\(session.id)", LogKey.clientAddress: "\(client)"])
        var response = Self.redirect(to: "overview")
        let secure = secure(request, context)
        response.setCookie(
            Cookie(
                name: ConsoleSessions.cookie, value: cookie, maxAge: Int(ConsoleSessions.lifetimeSeconds),
                secure: secure, httpOnly: true, sameSite: .strict))
        response.setCookie(Self.expired(ConsoleSessions.signInCookie, secure: secure))
        return response
    }

    private func session(_ request: Request) -> ConsoleSessions.Session? {
        guard let sessions, let value = request.cookies[ConsoleSessions.cookie]?.value else { return nil }
        return sessions.session(cookie: value, now: nowSeconds)
    }

    private func secure(_ request: Request, _ context: some RemoteAddressRequestContext) -> Bool {
        api.clients.isSecure(peer: context.remoteAddress, headers: request.headers)
    }

    // MARK: - Pages and changes

    /// A page for a signed-in operator; others go to the sign-in form.
    private func page<Content>(
        _ request: Request,
        _ context: some RemoteAddressRequestContext,
        _ body: () async throws -> (template: String, title: String, content: Content)
    ) async throws -> Response {
        guard let sessions else { return disabled() }
        let root = Self.root(of: request)
        guard let session = session(request) else { return Self.redirect(to: "\(root)/sign-in") }
        let csrf = sessions.csrfToken(for: session)
        do {
            let (template, title, content) = try await body()
            let page = ConsolePage(
                title: title, root: root, csrf: csrf, notice: Self.notice(Self.query(request)), content: content)
            return render(template, page, status: .ok)
        } catch let failure as OperatorAPI.Failure {
            return message(
                failure.status == .notFound ? "Not found" : "Cannot show this page", failure.message,
                status: failure.status, root: root, csrf: csrf)
        } catch let error as StoreError {
            return message(
                "Store unavailable", "The event store did not answer: \(error)", status: .serviceUnavailable,
                root: root, csrf: csrf)
        }
    }

    /// A change by a signed-in operator whose form carries the session's CSRF token.
    private func change(
        _ request: Request,
        _ context: some RemoteAddressRequestContext,
        _ body: (ConsoleSessions.Session, ConsoleForm) async throws -> Response
    ) async throws -> Response {
        guard let sessions else { return disabled() }
        guard let session = session(request) else { return Self.redirect(to: "sign-in") }
        guard let form = try await Self.form(request, context) else { return unsupportedForm() }
        guard sessions.isCSRFToken(form.value("csrf"), for: session) else {
            logger.warning(
                "Console change refused: missing or wrong CSRF token",
                metadata: ["relay.operator": "console:\(session.id)", "relay.console.path": "\(request.uri.path)"])
            return message(
                "Refused",
                "The form's CSRF token is missing or wrong, so nothing was changed. Reload the page and try again.",
                status: .forbidden, root: ".", csrf: sessions.csrfToken(for: session))
        }
        do {
            return try await body(session, form)
        } catch let failure as OperatorAPI.Failure {
            return message(
                "Not changed", failure.message, status: failure.status, root: ".",
                csrf: sessions.csrfToken(for: session))
        } catch let error as StoreError {
            return message(
                "Store unavailable", "The event store did not answer: \(error)", status: .serviceUnavailable,
                root: ".", csrf: sessions.csrfToken(for: session))
        }
    }

    // MARK: - Answers

    private func render<Content>(_ template: String, _ page: ConsolePage<Content>, status: HTTPResponse.Status)
        -> Response
    {
        let html = ConsoleTemplates.render(page, template: template)
        var headers = OperatorAPI.securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: html)))
    }

    private func message(
        _ title: String,
        _ text: String,
        status: HTTPResponse.Status,
        root: String = ".",
        csrf: String? = nil,
        link: (String, String)? = nil
    ) -> Response {
        let content = MessageContent(text: text, link: link?.0, linkText: link?.1)
        return render("message", ConsolePage(title: title, root: root, csrf: csrf, content: content), status: status)
    }

    private func disabled() -> Response {
        message(
            "Console off", "The console needs admin.token: set it (a secret reference) and restart gigs-relay.",
            status: .notFound)
    }

    private func unsupportedForm() -> Response {
        message(
            "Not a form", "Changes are sent as application/x-www-form-urlencoded forms of at most 256 KiB.",
            status: .unsupportedMediaType)
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = OperatorAPI.securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// A 303 to a relative location (the browser resolves it against the page, prefix and all).
    static func redirect(to location: String) -> Response {
        var headers = OperatorAPI.securityHeaders
        headers[.location] = location
        return Response(status: .seeOther, headers: headers)
    }

    /// Back to the page a form came from (only console pages), with what was done.
    static func redirect(back form: ConsoleForm, done: String, count: Int) -> Response {
        let back = form.value("back").flatMap { isConsolePage($0) ? $0 : nil } ?? "overview"
        return redirect(to: back + (back.contains("?") ? "&" : "?") + "done=\(done)&count=\(count)")
    }

    /// Whether `location` is a page of the console: `overview`, `dead…` or `events/…`, relative, with
    /// no scheme, host or parent.
    static func isConsolePage(_ location: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~%/?=&+")
        let path = location.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        return location.count <= 2048 && location.allSatisfy(allowed.contains) && !location.contains("..")
            && !location.contains("//")
            && (path == "overview" || path == "dead" || path == "events"
                || (path.hasPrefix("events/") && !path.dropFirst(7).contains("/")))
    }

    /// The notice after a change, from `done` and `count`.
    static func notice(_ query: [String: String]) -> String? {
        guard let done = query["done"], let count = query["count"].flatMap({ Int($0) }) else { return nil }
        let plural = count == 1 ? "delivery" : "deliveries"
        switch done {
        case "retry": return "Retried \(count) \(plural)."
        case "skip": return "Skipped \(count) \(plural)."
        case "replay": return "Replayed: \(count) new \(plural)."
        case "pause": return "Paused."
        case "resume": return "Resumed."
        default: return nil
        }
    }

    static func expired(_ name: String, secure: Bool) -> Cookie {
        Cookie(name: name, value: "", maxAge: 0, secure: secure, httpOnly: true, sameSite: .strict)
    }

    // MARK: - Helpers

    var nowSeconds: Int64 { api.clock.now / 1000 }

    /// The relative path from a page to the console's root: `.` for `/console/events`, `..` for
    /// `/console/events/ID`.
    static func root(of request: Request) -> String {
        let segments = request.uri.path.split(separator: "/", omittingEmptySubsequences: false)
        guard let console = segments.lastIndex(of: "console") else { return "." }
        let depth = segments.count - console - 2
        return depth <= 0 ? "." : Array(repeating: "..", count: depth).joined(separator: "/")
    }

    static func query(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        return query
    }

    static func queryString(_ values: [String: String]) -> String {
        values.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? "")"
        }.joined(separator: "&")
    }

    static func pathSegment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryValueAllowed) ?? ""
    }

    static func rate(_ value: Double) -> String {
        value.formatted(.number.precision(.fractionLength(value < 10 ? 2 : 0)))
    }

    /// The submitted form, or nil when the body is not a URL-encoded form within ``maxFormBytes``.
    static func form(_ request: Request, _ context: some RequestContext) async throws -> ConsoleForm? {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        else { return nil }
        var request = request
        guard let body = try? await request.collectBody(upTo: maxFormBytes) else { return nil }
        return ConsoleForm(String(buffer: body))
    }
}
