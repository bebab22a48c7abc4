import AsyncHTTPClient
import Foundation
import GigsRelay
import GigsRelayTesting
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// The operators' web console (`/console`) with the real binary and a real receiver: sign-in, sessions,
/// CSRF, escaping, redaction, the security headers, and the shipped nginx site's `/relay/` prefix. The
/// browser walk-through is `Tests/Browser/console_test.py` (Selenium and chromium).
@Suite("Operator console (real binary)", .serialized)
struct ConsoleProcessTests {
    let secret = TestSigner.randomSecret()
    let token = "adm_" + UUID().uuidString

    /// A subscription event whose user's name is a script, and whose email the configuration redacts.
    static func hostileEvent(id: String) -> [UInt8] {
        let body = String(decoding: SampleEvents.subscriptionActivated(id: id), as: UTF8.self)
            .replacingOccurrences(of: "Jane Doe", with: #"<script>alert('x')</script><img src=x onerror=alert(1)>"#)
        return Array(body.utf8)
    }

    func fixture(_ receiver: WebhookReceiver, backend: Backend) throws -> DaemonFixture {
        try DaemonFixture(
            backend: backend,
            serverTOML: #"trusted_proxies = ["127.0.0.1/32"]"#,
            extraTOML: """
                [admin]
                token = "env:ADMIN_TOKEN"
                redact = ["/data/user/email"]
                [dispatch]
                backoff_initial_ms = 50
                backoff_max_ms = 100
                max_attempts = 1
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [[routes]]
                events = ["*"]
                actions = ["backend"]
                """)
    }

    /// The value of the cookie `name` a response sets, and the whole `Set-Cookie` line.
    static func cookie(_ name: String, in headers: HTTPHeaders) -> (value: String, line: String)? {
        for line in headers["Set-Cookie"] where line.hasPrefix("\(name)=") {
            let value = line.dropFirst(name.count + 1).prefix { $0 != ";" }
            return (String(value), line)
        }
        return nil
    }

    /// The first `name="csrf"` (or other hidden field) value on a page.
    static func field(_ name: String, in html: String) -> String? {
        guard let range = html.range(of: #"name="\#(name)" value=""#) else { return nil }
        return String(html[range.upperBound...].prefix { $0 != "\"" })
    }

    @Test(
        "Sign-in, sessions, CSRF, escaping, redaction and headers; nothing answers without the token",
        arguments: Backend.allCases)
    func security(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: secret, statuses: "410 200")
        let fixture = try fixture(receiver, backend: backend)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret, "ADMIN_TOKEN": token])
        #expect(try await fixture.post(Self.hostileEvent(id: "evt_console_1"), to: address) == 202)
        _ = try await receiver.waitForRequests(1)
        let bearer = ["Authorization": "Bearer \(token)"]
        func deadDelivery() async throws -> String? {
            let body = try await fixture.fetch("/api/v1/deliveries?status=dead", from: address, headers: bearer).body
            return body.range(of: #""id":"dlv_[0-9]+""#, options: .regularExpression).map {
                String(body[$0].dropFirst(6).dropLast())
            }
        }
        try await eventuallyAsync("the delivery is dead") { try await deadDelivery() != nil }
        let deadID = try #require(try await deadDelivery())

        // No session: every page sends the browser to sign in and shows nothing; changes do nothing.
        for page in ["/console/overview", "/console/events", "/console/events/evt_console_1", "/console/dead"] {
            let answer = try await fixture.exchange(page, from: address)
            #expect(answer.status == 303, "\(page)")
            #expect(answer.headers.first(name: "Location")?.hasSuffix("sign-in") == true, "\(page)")
            #expect(!answer.body.contains("evt_console_1"))
        }
        #expect(try await fixture.exchange("/console/overview.json", from: address).status == 401)
        #expect(try await fixture.exchange("/api/v1/events", from: address).status == 401)
        let anonymous = try await fixture.exchange(
            "/console/retry", from: address, method: .POST, form: [("id", deadID), ("back", "dead")])
        #expect(anonymous.status == 303)

        // The sign-in form: its nonce is required, a wrong token is refused and logged without itself.
        let form = try await fixture.exchange("/console/sign-in", from: address)
        #expect(form.status == 200)
        #expect(form.headers.first(name: "X-Frame-Options") == "DENY")
        #expect(form.headers.first(name: "Content-Security-Policy")?.contains("default-src 'none'") == true)
        #expect(form.headers.first(name: "Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
        #expect(form.headers.first(name: "Referrer-Policy") == "no-referrer")
        // Pages are never cached; the stylesheet and script, which hold no data, may be for 5 minutes.
        #expect(form.headers.first(name: "Cache-Control") == "no-store")
        for asset in ["/console/style.css", "/console/console.js"] {
            let answer = try await fixture.exchange(asset, from: address)
            #expect(answer.status == 200 && answer.headers.first(name: "Cache-Control") == "max-age=300", "\(asset)")
        }
        let nonce = try #require(Self.cookie("gigs_relay_sign_in", in: form.headers)?.value)
        #expect(Self.field("nonce", in: form.body) == nonce)
        let nonceCookie = ["Cookie": "gigs_relay_sign_in=\(nonce)"]
        let withoutNonce = try await fixture.exchange(
            "/console/sign-in", from: address, method: .POST, form: [("token", token)])
        #expect(withoutNonce.status == 403 && Self.cookie("gigs_relay_session", in: withoutNonce.headers) == nil)
        let wrongToken = "wrong_" + UUID().uuidString
        let wrong = try await fixture.exchange(
            "/console/sign-in", from: address, method: .POST, headers: nonceCookie,
            form: [("nonce", nonce), ("token", wrongToken)])
        #expect(wrong.status == 401 && wrong.body.contains("not the admin token"))
        #expect(Self.cookie("gigs_relay_session", in: wrong.headers) == nil)

        // The right token: a session cookie, HttpOnly and SameSite=Strict; Secure only over HTTPS.
        let signedIn = try await fixture.exchange(
            "/console/sign-in", from: address, method: .POST, headers: nonceCookie,
            form: [("nonce", nonce), ("token", token)])
        #expect(signedIn.status == 303 && signedIn.headers.first(name: "Location") == "overview")
        let (session, line) = try #require(Self.cookie("gigs_relay_session", in: signedIn.headers))
        #expect(line.contains("HttpOnly") && line.contains("SameSite=Strict") && !line.contains("Secure"))
        let overHTTPS = try await fixture.exchange(
            "/console/sign-in", from: address, method: .POST,
            headers: nonceCookie.merging(["X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"]) { $1 },
            form: [("nonce", nonce), ("token", token)])
        #expect(Self.cookie("gigs_relay_session", in: overHTTPS.headers)?.line.contains("; Secure") == true)
        let cookie = ["Cookie": "gigs_relay_session=\(session)"]
        // A cookie changed in its last digit (its signature) is no session.
        let forged = session.dropLast() + (session.last == "0" ? "1" : "0")
        #expect(
            try await fixture.exchange(
                "/console/events", from: address, headers: ["Cookie": "gigs_relay_session=\(forged)"]
            )
            .status == 303)

        // Pages: the script in the payload is text, the redacted email is absent, the attempt's error shows.
        let overview = try await fixture.exchange("/console/overview", from: address, headers: cookie)
        #expect(overview.status == 200 && overview.body.contains("backend"))
        #expect(overview.headers.first(name: "Content-Security-Policy")?.contains("script-src 'self'") == true)
        let found = try await fixture.exchange(
            "/console/events?subject=sub_0SNlurA049MEWV2gSfSxi00xlPIi", from: address, headers: cookie)
        #expect(found.body.contains(#"href="events/evt_console_1""#))
        let badFilter = try await fixture.exchange("/console/events?since=yesterday", from: address, headers: cookie)
        #expect(badFilter.status == 400 && badFilter.body.contains("ISO 8601"))
        #expect(try await fixture.exchange("/console/events/evt_none", from: address, headers: cookie).status == 404)
        let page = try await fixture.exchange("/console/events/evt_console_1", from: address, headers: cookie)
        #expect(page.status == 200)
        #expect(page.body.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"))
        #expect(!page.body.contains("<script>alert") && !page.body.contains("<img src=x"))
        #expect(!page.body.contains("jane@example.com") && page.body.contains("[redacted]"))
        #expect(page.body.contains("lastError:") && page.body.contains("410"))
        let json = try await fixture.fetch("/api/v1/events/evt_console_1", from: address, headers: bearer).body
        #expect(!json.contains("jane@example.com"))
        let csrf = try #require(Self.field("csrf", in: page.body))

        // Changes need the session's CSRF token: missing or wrong is 403, and the delivery stays dead.
        // (A wrong token differs from the right one in its first digit.)
        let wrongCSRF = (csrf.first == "0" ? "1" : "0") + csrf.dropFirst()
        for fields in [[("id", deadID)], [("id", deadID), ("csrf", wrongCSRF)]] {
            let refused = try await fixture.exchange(
                "/console/retry", from: address, method: .POST, headers: cookie, form: fields + [("back", "dead")])
            #expect(refused.status == 403 && refused.body.contains("nothing was changed"))
        }
        let other = try await fixture.exchange(
            "/console/pause", from: address, method: .POST, headers: cookie,
            form: [("action", "backend"), ("csrf", String(repeating: "a", count: 64))])
        #expect(other.status == 403)
        try await Task.sleep(for: .milliseconds(300))
        #expect(
            try await fixture.fetch("/api/v1/deliveries?status=dead", from: address, headers: bearer).body.contains(
                deadID))
        #expect(receiver.requests.count == 1)

        // With the token: retried, delivered to the receiver, and logged with the session as who.
        let retried = try await fixture.exchange(
            "/console/retry", from: address, method: .POST, headers: cookie,
            form: [("csrf", csrf), ("id", deadID), ("back", "events/evt_console_1")])
        #expect(retried.status == 303)
        #expect(retried.headers.first(name: "Location") == "events/evt_console_1?done=retry&count=1")
        _ = try await receiver.waitForRequests(2)
        // A redirect back elsewhere is refused: the console only returns to its own pages.
        let offsite = try await fixture.exchange(
            "/console/resume", from: address, method: .POST, headers: cookie,
            form: [("csrf", csrf), ("action", "backend"), ("back", "//evil.example/")])
        #expect(offsite.headers.first(name: "Location") == "overview?done=resume&count=1")

        // Sign out: the cookie is cleared and the old one no longer works.
        let out = try await fixture.exchange(
            "/console/sign-out", from: address, method: .POST, headers: cookie, form: [("csrf", csrf)])
        #expect(
            out.status == 303 && Self.cookie("gigs_relay_session", in: out.headers)?.line.contains("Max-Age=0") == true)
        #expect(try await fixture.exchange("/console/overview", from: address, headers: cookie).status == 303)

        // Wrong tokens are limited per client: after ten, even the right one waits (429).
        for _ in 0..<9 {
            _ = try await fixture.exchange(
                "/console/sign-in", from: address, method: .POST, headers: nonceCookie,
                form: [("nonce", nonce), ("token", wrongToken)])
        }
        let limited = try await fixture.exchange(
            "/console/sign-in", from: address, method: .POST, headers: nonceCookie,
            form: [("nonce", nonce), ("token", token)])
        #expect(limited.status == 429 && limited.headers.first(name: "Retry-After") != nil)
        #expect(try await fixture.fetch("/api/v1/events", from: address, headers: bearer).status == 429)

        try await daemon.stop()
        #expect(daemon.log.contains("Console sign-in refused"))
        #expect(daemon.log.contains("relay.change=retry") && daemon.log.contains("relay.operator=console:"))
        #expect(!daemon.log.contains(token) && !daemon.log.contains(wrongToken))
        #expect(!daemon.log.contains(session))
    }

    @Test("Without admin.token the console is off and a proxied API request is refused")
    func withoutToken() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let page = try await fixture.exchange("/console/sign-in", from: address)
        #expect(page.status == 404 && page.body.contains("admin.token"))
        #expect(try await fixture.exchange("/api/v1/events", from: address).status == 200)
        let proxied = try await fixture.exchange(
            "/api/v1/events", from: address, headers: ["X-Forwarded-For": "192.0.2.7"])
        #expect(proxied.status == 403)
        try await daemon.stop()
    }

    @Test("Behind the shipped nginx site under /relay/: sign in, pages, assets and a Secure cookie")
    func behindNginx() async throws {
        let fixture = try DaemonFixture(
            serverTOML: #"trusted_proxies = ["127.0.0.1/32"]"#,
            extraTOML: """
                [admin]
                token = "env:ADMIN_TOKEN"
                """)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ADMIN_TOKEN": token])
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_prefix"), to: address) == 202)
        // The shipped site proxies the webhook to server.listen and /relay/ to the admin listener.
        let nginx = try NginxProxy(
            site: "deploy/nginx/gigs-relay.conf", upstreams: ["127.0.0.1:8080": address, "127.0.0.1:9464": address])
        var configuration = HTTPClient.Configuration()
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(nginx.certificatePath)
        configuration.tlsConfiguration = tls
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        defer { _ = client.shutdown() }
        func fetch(
            _ path: String, method: HTTPMethod = .GET, headers: [String: String] = [:], form: String? = nil
        ) async throws -> (status: Int, headers: HTTPHeaders, body: String) {
            var request = HTTPClientRequest(url: "https://\(nginx.address)\(path)")
            request.method = method
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let form {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: form))
            }
            let response = try await client.execute(request, timeout: .seconds(10))
            return (
                Int(response.status.code), response.headers,
                String(buffer: try await response.body.collect(upTo: 1 << 22))
            )
        }

        let entry = try await fetch("/relay/console")
        #expect(entry.status == 303 && entry.headers.first(name: "Location") == "console/overview", "\(nginx.errorLog)")
        let form = try await fetch("/relay/console/sign-in")
        #expect(form.status == 200 && form.body.contains(#"href="./style.css""#))
        let nonce = try #require(Self.cookie("gigs_relay_sign_in", in: form.headers)?.value)
        let signedIn = try await fetch(
            "/relay/console/sign-in", method: .POST, headers: ["Cookie": "gigs_relay_sign_in=\(nonce)"],
            form: "nonce=\(nonce)&token=\(token)")
        #expect(signedIn.status == 303 && signedIn.headers.first(name: "Location") == "overview")
        let (session, line) = try #require(Self.cookie("gigs_relay_session", in: signedIn.headers))
        #expect(line.contains("; Secure") && line.contains("HttpOnly") && line.contains("SameSite=Strict"))
        let cookie = ["Cookie": "gigs_relay_session=\(session)"]
        let event = try await fetch("/relay/console/events/evt_prefix", headers: cookie)
        #expect(event.status == 200 && event.body.contains(#"href="../style.css""#))
        #expect(try await fetch("/relay/console/style.css").status == 200)
        #expect(try await fetch("/relay/console/console.js").status == 200)
        #expect(
            try await fetch("/relay/api/v1/events", headers: ["Authorization": "Bearer \(token)"]).body.contains(
                "evt_prefix"))
        // Health and metrics stay unexposed.
        #expect(try await fetch("/relay/metrics").status == 404)
        #expect(try await fetch("/metrics").status == 404)
        try await daemon.stop()
    }
}
