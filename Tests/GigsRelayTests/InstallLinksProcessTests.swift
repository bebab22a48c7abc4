import Foundation
import GigsRelayTesting
import Testing

@testable import GigsRelay

/// The eSIM install-link action end to end: the real binary, a fake Gigs API (a real HTTP server in
/// this process), and a real HTTP receiver for the links.
@Suite("eSIM install links (real binary)", .serialized)
struct InstallLinksProcessTests {
    let linksSecret = TestSigner.randomSecret()
    static let credentials = """
        {"object":"simCredentials","sim":"sim_e1","activationCode":"LPA:1$smdp.example$SECRET-ACTIVATION-777",\
        "iosInstallUrl":"https://esim.example/ios/SECRET-IOS-777","androidInstallUrl":"https://esim.example/android/SECRET-ANDROID-777",\
        "qrCodeUrl":"https://esim.example/qr/SECRET-QR-777"}
        """
    static let credentialStrings = ["SECRET-ACTIVATION-777", "SECRET-IOS-777", "SECRET-ANDROID-777", "SECRET-QR-777"]
    static let user =
        #"{"object":"user","id":"usr_1","email":"jane@example.com","fullName":"Jane Doe","preferredLocale":"en-US"}"#

    /// A daemon with one `install-links` action posting to `receiver`; `retry` holds its `[dispatch]` keys.
    func fixture(
        api: FakeGigsAPI,
        receiver: WebhookReceiver,
        retry: String = "max_attempts = 2\nbackoff_initial_ms = 50"
    ) throws -> DaemonFixture {
        try DaemonFixture(
            logLevel: "trace",
            extraTOML: """
                [dispatch]
                \(retry)
                [gigs]
                api_url = "\(api.url)"
                project = "\(api.project)"
                token = "env:GIGS_API_TOKEN"
                [actions.install-links]
                kind = "esim-install-links"
                channel = "http"
                url = "\(receiver.url("/links"))"
                secret = "env:LINKS_SECRET"
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["install-links"]
                """
        )
    }

    func start(_ fixture: DaemonFixture, api: FakeGigsAPI, token: String? = nil) async throws -> (RelayProcess, String)
    {
        try await fixture.start(environment: ["GIGS_API_TOKEN": token ?? api.token, "LINKS_SECRET": linksSecret])
    }

    func delivery(_ fixture: DaemonFixture) async throws -> StoredDelivery? {
        try await fixture.deliveries(DeliveryFilter()).first
    }

    @Test("An activated eSIM's links reach the receiver, signed; credentials are never stored or logged")
    func deliversLinks() async throws {
        let api = try await FakeGigsAPI(documents: ["sims/sim_e1/credentials": Self.credentials])
        let receiver = try WebhookReceiver(secret: linksSecret)
        let fixture = try fixture(api: api, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, api: api)
        let body = SampleEvents.subscription(
            id: "evt_esim",
            sim: #"{"object":"sim","id":"sim_e1","type":"eSIM"}"#,
            user: Self.user
        )
        #expect(try await fixture.post(body, to: address) == 202)

        let request = try #require(try await receiver.waitForRequests(1).first)
        #expect(request.verified == true)
        let document = try #require(try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any])
        let links = try #require(document["links"] as? [String: String])
        #expect(links["ios"] == "https://esim.example/ios/SECRET-IOS-777")
        #expect(links["android"] == "https://esim.example/android/SECRET-ANDROID-777")
        #expect(links["qrCode"] == "https://esim.example/qr/SECRET-QR-777")
        #expect(links["activationCode"] == "LPA:1$smdp.example$SECRET-ACTIVATION-777")
        #expect((document["user"] as? [String: Any])?["email"] as? String == "jane@example.com")
        #expect(document["recommendedOrder"] as? [String] == ["ios", "android", "qrCode", "activationCode"])
        try await eventuallyAsync("the delivery succeeded") { try await delivery(fixture)?.status == .succeeded }
        #expect(api.requests == ["/projects/dev-project/sims/sim_e1/credentials"])

        try await expectNoCredentialsLeft(fixture, daemon, api: api, event: "evt_esim")
    }

    /// Stops the daemon, then checks every byte the store wrote (database and WAL), every log line and the
    /// CLI's view of the delivery for the SIM credentials and the API token.
    func expectNoCredentialsLeft(_ fixture: DaemonFixture, _ daemon: RelayProcess, api: FakeGigsAPI, event: String)
        async throws
    {
        try await daemon.stop()
        var stored = Data()
        for suffix in ["", "-wal"] {
            stored += FileManager.default.contents(atPath: fixture.storePath + suffix) ?? Data()
        }
        let storedText = String(decoding: stored, as: UTF8.self)
        #expect(storedText.contains(event))  // the search does see the store's contents
        for secret in Self.credentialStrings {
            #expect(!storedText.contains(secret), "the store holds a SIM credential")
            #expect(!daemon.log.contains(secret), "the log holds a SIM credential")
        }
        #expect(!daemon.log.contains(api.token))
        let cli = try await fixture.cli(["deliveries", "show", "dlv_1", "--json"])
        #expect(cli.output.contains(event))
        for secret in Self.credentialStrings { #expect(!cli.output.contains(secret)) }
    }

    @Test("With channel = \"email\" the user gets the links by mail, in their locale and Gigs' order")
    func emailsLinks() async throws {
        let api = try await FakeGigsAPI(documents: ["sims/sim_e1/credentials": Self.credentials])
        let smtp = try SMTPReceiver()
        let fixture = try DaemonFixture(
            logLevel: "trace",
            extraTOML: """
                [gigs]
                api_url = "\(api.url)"
                project = "\(api.project)"
                token = "env:GIGS_API_TOKEN"
                \(smtp.configurationTOML(from: "Example Mobile <noreply@example.com>"))
                [actions.install-links]
                kind = "esim-install-links"
                channel = "email"
                templates = "\(Repository.path("config/templates/install-links"))"
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["install-links"]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: [
            "GIGS_API_TOKEN": api.token, "SMTP_PASSWORD": smtp.password,
        ])
        let german =
            #"{"object":"user","id":"usr_2","email":"jorg@example.com","fullName":"Jörg Müller","preferredLocale":"de-DE"}"#
        let body = SampleEvents.subscription(
            id: "evt_mail", sim: #"{"object":"sim","id":"sim_e1","type":"eSIM"}"#, user: german)
        #expect(try await fixture.post(body, to: address) == 202)

        let mail = try #require(try await smtp.waitForMessages(1).first)
        #expect(mail.tls)
        #expect(mail.rcptTos == ["jorg@example.com"])
        #expect(mail.to == "Jörg Müller <jorg@example.com>")
        #expect(mail.subject == "Ihre eSIM installieren")
        #expect(mail.defects.isEmpty)
        let text = try #require(mail.text)
        #expect(text.hasPrefix("Hallo Jörg Müller,"))
        // Gigs' order: iOS link, Android link, QR code, then the activation code.
        let positions = Self.credentialStrings.map { text.range(of: $0)?.lowerBound }
        let ios = try #require(positions[1]), android = try #require(positions[2])
        let qr = try #require(positions[3]), code = try #require(positions[0])
        #expect(ios < android && android < qr && qr < code)
        let html = try #require(mail.html)
        #expect(html.contains(#"<a href="https://esim.example/ios/SECRET-IOS-777""#))
        #expect(html.contains(#"<img src="https://esim.example/qr/SECRET-QR-777""#))
        #expect(html.contains("LPA:1$smdp.example$SECRET-ACTIVATION-777"))
        try await eventuallyAsync("the delivery succeeded") { try await delivery(fixture)?.status == .succeeded }
        try await expectNoCredentialsLeft(fixture, daemon, api: api, event: "evt_mail")
    }

    @Test("A Gigs API 429/503 storm is retried no sooner than its Retry-After, then the links are delivered")
    func rateLimitStorm() async throws {
        let api = try await FakeGigsAPI(documents: ["sims/sim_e1/credentials": Self.credentials])
        api.fail(next: 2, status: 429, retryAfter: 1)
        api.fail(next: 1, status: 503, retryAfter: 1)
        let receiver = try WebhookReceiver(secret: linksSecret)
        let fixture = try fixture(
            api: api, receiver: receiver, retry: "max_attempts = 10\nbackoff_initial_ms = 50\nbackoff_max_ms = 5000")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, api: api)
        let body = SampleEvents.subscription(
            id: "evt_storm", sim: #"{"object":"sim","id":"sim_e1","type":"eSIM"}"#, user: Self.user)
        #expect(try await fixture.post(body, to: address) == 202)
        _ = try await receiver.waitForRequests(1)
        try await eventuallyAsync("the delivery succeeded") { try await delivery(fixture)?.status == .succeeded }
        let attempts = try await fixture.attempts(of: DeliveryID(1))
        #expect(attempts.map(\.outcome) == ["failed", "failed", "failed", "succeeded"])
        #expect(attempts.first?.error?.contains("429") == true)
        // With a 50 ms backoff, only Retry-After explains a second between attempts.
        for (earlier, later) in zip(attempts, attempts.dropFirst()) {
            let gap = later.startedAt.timeIntervalSince(earlier.startedAt)
            #expect(gap >= 0.95, "attempt \(later.number) came \(gap) s after the previous one")
        }
        #expect(api.requests.count == 4)
        try await daemon.stop()
    }

    @Test("A user without a locale template gets the default locale's email")
    func defaultLocale() throws {
        #expect(
            InstallLinksAction.Delivery.locales(preferred: "fr_CA", fallback: "en") == ["fr-CA", "fr", "en"])
        #expect(InstallLinksAction.Delivery.locales(preferred: nil, fallback: "en") == ["en"])
    }

    @Test("A pSIM is skipped with reason not_esim, without asking Gigs for credentials")
    func physicalSIMSkipped() async throws {
        let api = try await FakeGigsAPI(documents: [:])
        let receiver = try WebhookReceiver(secret: linksSecret)
        let fixture = try fixture(api: api, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, api: api)
        let body = SampleEvents.subscription(
            id: "evt_psim", sim: #"{"object":"sim","id":"sim_p1","type":"pSIM"}"#, user: Self.user)
        #expect(try await fixture.post(body, to: address) == 202)
        try await eventuallyAsync("the delivery was skipped") { try await delivery(fixture)?.status == .skipped }
        #expect(try await delivery(fixture)?.lastError?.hasPrefix("not_esim") == true)
        #expect(api.requests.isEmpty)
        #expect(receiver.requests.isEmpty)
        try await daemon.stop()
    }

    @Test("A null data.sim and a bare user id are looked up before the credentials")
    func looksUpSubscriptionAndUser() async throws {
        let api = try await FakeGigsAPI(documents: [
            "subscriptions/sub_9":
                #"{"object":"subscription","id":"sub_9","sim":{"object":"sim","id":"sim_e1","type":"eSIM"},"user":"usr_1"}"#,
            "users/usr_1": Self.user,
            "sims/sim_e1/credentials": Self.credentials,
        ])
        let receiver = try WebhookReceiver(secret: linksSecret)
        let fixture = try fixture(api: api, receiver: receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, api: api)
        let body = SampleEvents.subscription(id: "evt_lookup", subscription: "sub_9", sim: "null", user: #""usr_1""#)
        #expect(try await fixture.post(body, to: address) == 202)
        let request = try #require(try await receiver.waitForRequests(1).first)
        #expect(request.body.contains("jane@example.com"))
        #expect(
            api.requests == [
                "/projects/dev-project/subscriptions/sub_9", "/projects/dev-project/users/usr_1",
                "/projects/dev-project/sims/sim_e1/credentials",
            ]
        )
        try await daemon.stop()
    }

    @Test("A 401 from the Gigs API makes the delivery dead at once with a readable error, never the token")
    func unauthorized() async throws {
        let api = try await FakeGigsAPI(documents: ["sims/sim_e1/credentials": Self.credentials])
        let receiver = try WebhookReceiver(secret: linksSecret)
        let fixture = try fixture(api: api, receiver: receiver)
        defer { fixture.directory.remove() }
        let wrongToken = "wrong-token-123456"
        let (daemon, address) = try await start(fixture, api: api, token: wrongToken)
        let body = SampleEvents.subscription(
            id: "evt_401", sim: #"{"object":"sim","id":"sim_e1","type":"eSIM"}"#, user: Self.user)
        #expect(try await fixture.post(body, to: address) == 202)
        try await eventuallyAsync("the delivery is dead") { try await delivery(fixture)?.status == .dead }
        let dead = try #require(try await delivery(fixture))
        #expect(dead.attempts == 1)
        #expect(dead.lastError == "Gigs API sims answered 401 (unauthorized: Invalid API key)")
        #expect(receiver.requests.isEmpty)
        try await daemon.stop()
        #expect(!daemon.log.contains(wrongToken))
    }
}
