import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// `kind = "email"` end to end: the real binary submitting to a real SMTP server (aiosmtpd) over
/// STARTTLS with a throwaway certificate and AUTH.
@Suite("Email actions over SMTP (real binary, real SMTP server)", .serialized)
struct EmailProcessTests {
    /// A daemon with one `ops` email action for `subscriptionChange.failed` and `subscriptionGroup.*`.
    func fixture(_ smtp: SMTPReceiver, trustCertificate: Bool = true, maxAttempts: Int = 3) throws -> DaemonFixture {
        try DaemonFixture(
            logLevel: "trace",
            extraTOML: """
                [dispatch]
                max_attempts = \(maxAttempts)
                backoff_initial_ms = 50
                backoff_max_ms = 200
                \(smtp.configurationTOML(from: "Gigs Relay <relay@example.com>", trustCertificate: trustCertificate))
                [actions.ops]
                kind = "email"
                to = ["Ops Team <ops@example.com>", "oncall@example.com"]
                templates = "\(Repository.path("config/templates/email"))"
                [[routes]]
                events = ["com.gigs.subscriptionChange.failed", "com.gigs.subscriptionGroup.*"]
                actions = ["ops"]
                """
        )
    }

    func start(_ fixture: DaemonFixture, _ smtp: SMTPReceiver) async throws -> (RelayProcess, String) {
        try await fixture.start(environment: ["SMTP_PASSWORD": smtp.password])
    }

    func delivery(_ fixture: DaemonFixture) async throws -> StoredDelivery? {
        try await fixture.deliveries(DeliveryFilter()).first
    }

    @Test("A failed subscription change reaches the ops mailbox over STARTTLS + AUTH, text and HTML")
    func opsEmail() async throws {
        let smtp = try SMTPReceiver()
        let fixture = try fixture(smtp)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, smtp)
        let body = SampleEvents.subscriptionChangeFailed(id: "evt_change", failureCode: "plan_unavailable")
        #expect(try await fixture.post(body, to: address) == 202)

        let mail = try #require(try await smtp.waitForMessages(1).first)
        #expect(mail.tls)
        #expect(mail.login == smtp.username)
        #expect(mail.mailFrom == "relay@example.com")
        #expect(mail.rcptTos == ["ops@example.com", "oncall@example.com"])
        #expect(mail.from == "Gigs Relay <relay@example.com>")
        #expect(mail.to == "Ops Team <ops@example.com>, oncall@example.com")
        #expect(mail.subject == "Subscription change sch_0SNlurA049MEWV5xYz failed: plan_unavailable")
        #expect(mail.text?.contains("Failure code: plan_unavailable") == true)
        #expect(mail.html?.contains("<code>plan_unavailable</code>") == true)
        #expect(mail.defects.isEmpty)
        #expect(mail.longestLine <= 78)
        #expect(mail.messageId == "<gigs-relay.dlv_1.evt_change@example.com>")
        try await eventuallyAsync("the delivery succeeded") { try await delivery(fixture)?.status == .succeeded }

        try await daemon.stop()
        #expect(!daemon.log.contains(smtp.password))
        let stored = FileManager.default.contents(atPath: fixture.storePath + "-wal") ?? Data()
        #expect(!String(decoding: stored, as: UTF8.self).contains(smtp.password))
    }

    @Test("A deleted group's members are listed; AUTH LOGIN is used when PLAIN is not offered")
    func groupMembersWithAuthLogin() async throws {
        let smtp = try SMTPReceiver(authPlain: false)
        let fixture = try fixture(smtp)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, smtp)
        let body = SampleEvents.subscriptionGroupDeleted(id: "evt_group", members: ["sub_a1", "sub_b2", "sub_c3"])
        #expect(try await fixture.post(body, to: address) == 202)
        let mail = try #require(try await smtp.waitForMessages(1).first)
        #expect(mail.login == smtp.username)
        #expect(mail.subject == "Subscription group sgr_0SNlurA049MEWV7gRp deleted")
        #expect(mail.text?.contains("- sub_a1\n- sub_b2\n- sub_c3\n") == true)
        #expect(mail.html?.contains("<li>sub_b2</li>") == true)
        try await daemon.stop()
    }

    @Test("A 4xx reply is retried with the same Message-ID; a 5xx reply makes the delivery dead at once")
    func transientAndPermanentReplies() async throws {
        let smtp = try SMTPReceiver(replies: "451 250 550")
        let fixture = try fixture(smtp)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, smtp)
        #expect(
            try await fixture.post(
                SampleEvents.subscriptionChangeFailed(id: "evt_retry", failureCode: "x"), to: address)
                == 202)
        try await eventuallyAsync("the delivery succeeded") { try await delivery(fixture)?.status == .succeeded }
        let messages = smtp.messages
        #expect(messages.map(\.reply) == ["451", "250"])
        #expect(Set(messages.map(\.messageId)).count == 1)
        let attempts = try await fixture.attempts(of: DeliveryID(1))
        #expect(attempts.map(\.outcome) == ["failed", "succeeded"])
        #expect(attempts.first?.error?.hasPrefix("SMTP message rejected: 451") == true)

        #expect(
            try await fixture.post(SampleEvents.subscriptionChangeFailed(id: "evt_dead", failureCode: "y"), to: address)
                == 202)
        let filter = DeliveryFilter(eventID: EventID("evt_dead"))
        try await eventuallyAsync("the delivery is dead") {
            try await fixture.deliveries(filter).first?.status == .dead
        }
        let dead = try #require(try await fixture.deliveries(filter).first)
        #expect(dead.attempts == 1)
        #expect(dead.lastError?.hasPrefix("SMTP message rejected: 550") == true)
        try await daemon.stop()
    }

    @Test("An untrusted certificate fails closed: nothing is sent, the delivery retries with a TLS error")
    func untrustedCertificate() async throws {
        let smtp = try SMTPReceiver()
        let fixture = try fixture(smtp, trustCertificate: false, maxAttempts: 2)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await start(fixture, smtp)
        #expect(
            try await fixture.post(SampleEvents.subscriptionChangeFailed(id: "evt_tls", failureCode: "z"), to: address)
                == 202)
        try await eventuallyAsync("the delivery is dead") { try await delivery(fixture)?.status == .dead }
        let dead = try #require(try await delivery(fixture))
        #expect(dead.attempts == 2)
        #expect(dead.lastError?.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(dead.lastError ?? "")")
        #expect(smtp.messages.isEmpty)
        try await daemon.stop()
        #expect(!daemon.log.contains(smtp.password))
    }
}
