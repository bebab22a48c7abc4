import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

/// The hostile-peer harness: the real binary against a real HTTP server, a real SMTP server and real
/// commands that misbehave in every way the daemon must survive. For each case the daemon still serves
/// ingest afterwards (a signed event gets 2xx), the delivery ends in its documented state with a readable
/// `lastError`, memory stays bounded, and other actions' deliveries are unaffected.
@Suite("Hostile peers (real binary)", .serialized)
struct HostilePeerTests {
    let actionSecret = TestSigner.randomSecret()

    func deliveries(_ fixture: DaemonFixture, action: String? = nil) async throws -> [StoredDelivery] {
        try await fixture.deliveries(DeliveryFilter(action: action, limit: 1000))
    }

    /// Resident memory of a process, in MiB.
    func residentMiB(_ pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kilobytes / 1024
    }

    /// A daemon is still serving ingest: a new signed event gets 202.
    func expectServing(_ fixture: DaemonFixture, _ address: String, _ daemon: RelayProcess) async throws {
        #expect(daemon.isRunning)
        let id = "evt_alive_\(UUID().uuidString.prefix(8))"
        #expect(try await fixture.post(SampleEvents.body(id: id, type: "com.gigs.ping"), to: address) == 202)
    }

    @Test("Regression: 503 with Retry-After 99999999999999999 (and other bad values) never kills the daemon")
    func hostileHTTP() async throws {
        let peer = try HostilePeer.http()
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        try makeSelfSignedCertificate(certificate: scratch.file("cert.pem"), key: scratch.file("key.pem"))
        let untrusted = try HostilePeer.https(certificate: scratch.file("cert.pem"), key: scratch.file("key.pem"))
        let receiver = try WebhookReceiver(secret: actionSecret)
        let cases = [
            "retry-after-huge", "retry-after-negative", "retry-after-digits", "retry-after-far-date",
            "retry-after-garbage", "huge-body", "huge-error-body", "drip", "blackhole", "reset-mid-body",
            "bad-chunking", "redirect-loop", "huge-content-length", "garbage",
        ]
        var actions = ""
        for name in cases {
            actions += """
                [actions.\(name)]
                kind = "http"
                url = "\(peer.url("/" + name))"
                secret = "env:ACTION_SECRET"
                timeout_seconds = 2

                """
        }
        let fixture = try DaemonFixture(
            extraTOML: """
                [dispatch]
                workers = 32
                max_attempts = 2
                backoff_initial_ms = 50
                backoff_max_ms = 200
                lease_seconds = 10
                \(actions)
                [actions.tls-mismatch]
                kind = "http"
                url = "https://127.0.0.1:\(untrusted.port)/ok"
                secret = "env:ACTION_SECRET"
                timeout_seconds = 2
                [actions.healthy]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                timeout_seconds = 5
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = [\((cases + ["tls-mismatch", "healthy"]).map { "\"\($0)\"" }.joined(separator: ", "))]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_hostile"), to: address) == 202)

        // The healthy action is not held up by fourteen misbehaving ones.
        try await eventuallyAsync(timeout: .seconds(5), "the healthy delivery") {
            try await deliveries(fixture, action: "healthy").first?.status == .succeeded
        }
        var peakMiB = 0
        try await eventuallyAsync(timeout: .seconds(60), "every hostile delivery to finish") {
            peakMiB = max(peakMiB, residentMiB(daemon.processIdentifier))
            return try await deliveries(fixture).allSatisfy { $0.status == .dead || $0.status == .succeeded }
        }
        let ended = Dictionary(uniqueKeysWithValues: try await deliveries(fixture).map { ($0.action, $0) })
        for name in ["retry-after-huge", "retry-after-negative", "retry-after-digits", "retry-after-far-date"] {
            #expect(ended[name]?.status == .dead && ended[name]?.attempts == 2, "\(name)")
        }
        #expect(ended["retry-after-huge"]?.lastError?.contains("HTTP 503") == true)
        // A 2xx head is an acceptance; the rest of a dripping or endless body is cut by the deadline.
        #expect(ended["drip"]?.status == .succeeded)
        #expect(ended["huge-body"]?.status == .succeeded)
        #expect(ended["blackhole"]?.lastError?.contains("timed out") == true)
        #expect(ended["redirect-loop"]?.lastError?.contains("HTTP 302") == true)
        #expect(ended["huge-error-body"]?.lastError?.contains("HTTP 500") == true)
        // TLS to a server whose certificate does not verify: a failed attempt with the TLS error, retried.
        #expect(ended["tls-mismatch"]?.status == .dead && ended["tls-mismatch"]?.attempts == 2)
        #expect(ended["tls-mismatch"]?.lastError?.hasPrefix("request failed") == true)
        for (name, delivery) in ended where name != "healthy" && delivery.status == .dead {
            #expect(delivery.lastError?.isEmpty == false, "\(name) has a readable error")
        }
        // A 100 MB answer is not read into memory.
        #expect(peakMiB < 200, "peak RSS \(peakMiB) MiB")
        try await expectServing(fixture, address, daemon)
        try await daemon.stop()
    }

    @Test(
        "The Gigs API misbehaving (huge Retry-After, 100 MB error, drip, reset, garbage, black hole) costs one attempt")
    func hostileGigsAPI() async throws {
        let peer = try HostilePeer.http()
        let receiver = try WebhookReceiver(secret: actionSecret)
        // Each misbehaviour, and the start of the error its one attempt must end with.
        let cases: [(path: String, error: String)] = [
            ("retry-after-huge", "Gigs API sims answered 503"),
            ("huge-error-body", "Gigs API sims answered 500"),
            ("huge-body", "Gigs API sims answered more than 1048576 bytes"),
            ("drip", "timed out"),
            ("blackhole", "timed out"),
            ("reset-mid-body", "Gigs API sims answer broke off"),
            ("bad-chunking", "Gigs API"),
            ("garbage", "Gigs API unreachable"),
        ]
        for (path, error) in cases {
            let fixture = try DaemonFixture(
                extraTOML: """
                    [dispatch]
                    max_attempts = 1
                    [gigs]
                    api_url = "\(peer.url("/" + path))"
                    project = "dev-project"
                    token = "env:GIGS_API_TOKEN"
                    [actions.links]
                    kind = "esim-install-links"
                    channel = "http"
                    url = "\(receiver.url("/links"))"
                    secret = "env:ACTION_SECRET"
                    timeout_seconds = 2
                    [[routes]]
                    events = ["com.gigs.subscription.activated"]
                    actions = ["links"]
                    """
            )
            defer { fixture.directory.remove() }
            let (daemon, address) = try await fixture.start(environment: [
                "ACTION_SECRET": actionSecret, "GIGS_API_TOKEN": "gigs_token_secret",
            ])
            #expect(
                try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_api_\(path)"), to: address) == 202)
            var peakMiB = 0
            try await eventuallyAsync(timeout: .seconds(20), "the \(path) delivery to end") {
                peakMiB = max(peakMiB, residentMiB(daemon.processIdentifier))
                return try await deliveries(fixture).first?.status == .dead
            }
            let delivery = try #require(try await deliveries(fixture).first)
            #expect(delivery.lastError?.hasPrefix(error) == true, "\(path): \(delivery.lastError ?? "")")
            #expect(peakMiB < 200, "\(path): peak RSS \(peakMiB) MiB")
            try await expectServing(fixture, address, daemon)
            try await daemon.stop()
            #expect(!daemon.log.contains("gigs_token_secret"))
        }
        #expect(receiver.requests.isEmpty)
    }

    @Test("Regression: exec commands that do not read, close early, flood, linger, die or vanish end as attempts")
    func hostileCommands() async throws {
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        let script = scratch.writeScript
        let commands: [(String, String)] = [
            ("ignores-input", "\"/bin/true\""),
            ("closes-early", "\"/bin/sh\", \"\(try script("closes.sh", "exec 0<&- 1>&- 2>&-; sleep 0.2; exit 3"))\""),
            (
                "floods",
                "\"/bin/sh\", \"\(try script("floods.sh", "head -c 100000000 /dev/zero | tr '\\0' x; echo done"))\""
            ),
            ("lingers", "\"/bin/sh\", \"\(try script("lingers.sh", "setsid sleep 30 & echo started; exit 0"))\""),
            ("killed", "\"/bin/sh\", \"\(try script("killed.sh", "echo dying; kill -9 $$"))\""),
            ("vanishes", "\"\(scratch.file("missing.sh"))\""),
        ]
        var actions = ""
        for (name, command) in commands {
            actions += """
                [actions.\(name)]
                kind = "exec"
                command = [\(command)]
                timeout_seconds = 30

                """
        }
        let fixture = try DaemonFixture(
            extraTOML: """
                [dispatch]
                max_attempts = 1
                \(actions)
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = [\(commands.map { "\"\($0.0)\"" }.joined(separator: ", "))]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        // Larger than a pipe's buffer: writing it to a command that never reads used to kill the daemon.
        let padding = String(repeating: "p", count: 300_000)
        let big = Array(
            #"{"object":"event","id":"evt_big","type":"com.gigs.subscription.activated","data":{"pad":"\#(padding)"}}"#
                .utf8)
        #expect(try await fixture.post(big, to: address) == 202)
        var peakMiB = 0
        try await eventuallyAsync(timeout: .seconds(60), "every command's delivery to finish") {
            peakMiB = max(peakMiB, residentMiB(daemon.processIdentifier))
            return try await deliveries(fixture).allSatisfy { $0.status == .dead || $0.status == .succeeded }
        }
        let ended = Dictionary(uniqueKeysWithValues: try await deliveries(fixture).map { ($0.action, $0) })
        #expect(ended["ignores-input"]?.status == .succeeded)
        #expect(ended["closes-early"]?.lastError == "exited with status 3 (attempt 1 of 1)")
        #expect(ended["floods"]?.status == .succeeded)
        #expect(ended["lingers"]?.status == .succeeded)
        #expect(ended["killed"]?.lastError?.hasPrefix("killed by signal 9") == true)
        #expect(ended["vanishes"]?.lastError?.hasPrefix("cannot run") == true)
        // The lingering background child (sleeping 30 s) did not hold the attempt until its 30 s timeout.
        let lingered = try await fixture.attempts(of: try #require(ended["lingers"]).id).first
        #expect((lingered?.durationMilliseconds ?? .max) < 5000)
        for delivery in ended.values {
            for attempt in try await fixture.attempts(of: delivery.id) {
                #expect((attempt.output?.utf8.count ?? 0) <= 4096 + 3, "\(delivery.action) output is bounded")
            }
        }
        let flood = try await fixture.attempts(of: try #require(ended["floods"]).id).first?.output
        #expect(flood?.hasSuffix("done\n") == true)
        #expect(peakMiB < 200, "peak RSS \(peakMiB) MiB")
        try await expectServing(fixture, address, daemon)
        try await daemon.stop()
    }

    @Test("Regression: bad signatures from an address never make a correctly signed delivery from it get 429")
    func verifyFirstLimitAfter() async throws {
        let fixture = try DaemonFixture(serverTOML: "max_failed_verifications = 5")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let forger = TestSigner(secret: TestSigner.randomSecret())
        for index in 0..<20 {
            let status = try await fixture.post(
                SampleEvents.body(id: "evt_forged_\(index)", type: "com.gigs.ping"), to: address, signer: forger)
            #expect(status == (index < 5 ? 401 : 429))
        }
        #expect(try await fixture.post(SampleEvents.body(id: "evt_genuine", type: "com.gigs.ping"), to: address) == 202)
        #expect(
            try await fixture.post(
                SampleEvents.body(id: "evt_forged_x", type: "com.gigs.ping"), to: address, signer: forger)
                == 429)
        #expect(
            try await fixture.post(SampleEvents.body(id: "evt_genuine_2", type: "com.gigs.ping"), to: address) == 202)
        try await daemon.stop()
    }

    @Test("SMTP: injected plaintext after STARTTLS, endless lines, hangs, drops and 4xx/5xx end right, never falsely")
    func hostileSMTP() async throws {
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        let certificate = scratch.file("cert.pem")
        let key = scratch.file("key.pem")
        try makeSelfSignedCertificate(certificate: certificate, key: key)
        // Each mode, and the start of the error its one attempt must end with.
        let cases: [(mode: String, error: String)] = [
            ("starttls-injection", "SMTP server sent data after its STARTTLS reply"),
            ("long-line", "SMTP server sent a malformed reply"),
            ("greeting-421", "SMTP greeting rejected: 421"),
            ("greeting-554", "SMTP greeting rejected: 554"),
            ("hang", "timed out"),
            ("drop-after-starttls", "SMTP connection failed"),
            ("starttls-454", "SMTP STARTTLS rejected: 454"),
            ("mail-451", "SMTP MAIL FROM rejected: 451"),
            ("rcpt-550", "SMTP RCPT TO rejected: 550"),
            ("data-554", "SMTP message rejected: 554"),
            ("data-hang", "timed out"),
        ]
        var peers: [HostilePeer] = []
        for (mode, error) in cases {
            let peer = try HostilePeer.smtp(mode: mode, certificate: certificate, key: key)
            peers.append(peer)
            let fixture = try DaemonFixture(
                extraTOML: """
                    [dispatch]
                    max_attempts = 1
                    [smtp]
                    host = "127.0.0.1"
                    port = \(peer.port)
                    from = "relay@example.com"
                    ca_file = "\(certificate)"
                    [actions.mail]
                    kind = "email"
                    to = ["ops@example.com"]
                    timeout_seconds = 2
                    templates = "\(Repository.path("config/templates/email"))"
                    [[routes]]
                    events = ["com.gigs.subscriptionGroup.*"]
                    actions = ["mail"]
                    """
            )
            defer { fixture.directory.remove() }
            let (daemon, address) = try await fixture.start()
            let body = SampleEvents.subscriptionGroupDeleted(id: "evt_mail_\(mode)", members: ["sub_1"])
            #expect(try await fixture.post(body, to: address) == 202)
            try await eventuallyAsync(timeout: .seconds(15), "the \(mode) delivery to end") {
                try await deliveries(fixture).first?.status == .dead
            }
            let delivery = try #require(try await deliveries(fixture).first)
            #expect(delivery.lastError?.hasPrefix(error) == true, "\(mode): \(delivery.lastError ?? "")")
            #expect(peer.contacts == 1, "\(mode): one connection for one attempt")
            try await expectServing(fixture, address, daemon)
            try await daemon.stop()
        }
    }

    @Test("CLI text output shows a peer's control characters in lastError as escapes, never raw")
    func controlCharactersInErrors() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let store = try SQLiteStore(
            path: fixture.storePath, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() })
        _ = try await store.append(try fixture.signer.verifiedEvent(id: "evt_ansi"), actions: ["a"])
        await store.close()
        // What an SMTP server or the Gigs API might put in a reply: a screen clear, a carriage return and
        // a right-to-left override that would disguise the rest.
        let hostile = "SMTP MAIL FROM rejected: 550 \u{1B}[2J\u{1B}[31mall good\r\u{202E}kO"
        let connection = try SQLiteConnection(path: fixture.storePath, mode: .create)
        let update = try connection.prepare("UPDATE deliveries SET status = 'dead', last_error = ?")
        try update.bind(hostile, at: 1)
        try update.step()
        for command in [["deliveries", "list"], ["deliveries", "show", "dlv_1"]] {
            let (status, output) = try await fixture.cli(command)
            #expect(status == 0)
            #expect(!output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\r" || $0 == "\u{202E}" })
            #expect(output.contains("\\u{1B}[2J"), "\(command)")
        }
    }
}
