import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import Testing

@Suite("Signature verification")
struct SignatureVerifierTests {
    static let vectorID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
    static let vectorTimestamp: Int64 = 1_614_265_330
    static let vectorBody = Array(#"{"test": 2432232314}"#.utf8)
    static let vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func verifier(secrets: [String] = [TestSigner.vectorSecret], at date: Date? = nil) throws -> SignatureVerifier {
        let fixed = date ?? now
        return SignatureVerifier(
            secrets: try secrets.map { try WebhookSecret(encoded: $0) },
            toleranceSeconds: 300,
            clock: ManualClock(now: unixMilliseconds(fixed))
        )
    }

    func headers(_ signer: TestSigner, id: String = "msg_1", timestamp: Int64, body: [UInt8]) -> WebhookHeaders {
        WebhookHeaders(
            id: id, timestamp: "\(timestamp)", signature: signer.signature(id: id, timestamp: timestamp, body: body))
    }

    @Test("OpenSSL HMAC reproduces the Gigs/Svix test vector")
    func testVector() throws {
        let signature = TestSigner().signature(
            id: Self.vectorID, timestamp: Self.vectorTimestamp, body: Self.vectorBody)
        #expect(signature == Self.vectorSignature)

        // The vector's body is not an event, so a correct signature gets past verification to the envelope check.
        let verifier = try verifier(at: Date(timeIntervalSince1970: Double(Self.vectorTimestamp)))
        let headers = WebhookHeaders(
            id: Self.vectorID, timestamp: "\(Self.vectorTimestamp)", signature: Self.vectorSignature)
        #expect(throws: IngestError.notAGigsEvent) { try verifier.verify(headers: headers, body: Self.vectorBody) }

        let tampered = WebhookHeaders(
            id: Self.vectorID,
            timestamp: "\(Self.vectorTimestamp)",
            signature: "v1,g1hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        )
        #expect(throws: IngestError.invalidSignature) { try verifier.verify(headers: tampered, body: Self.vectorBody) }
    }

    @Test("A genuine event is verified and keeps its raw bytes and delivery headers")
    func genuineEvent() throws {
        let body = SampleEvents.body(id: "evt_genuine", type: "com.gigs.subscription.activated", project: "prj_1")
        let headers = headers(TestSigner(), timestamp: Int64(now.timeIntervalSince1970), body: body)
        let event = try verifier().verify(headers: headers, body: body)
        #expect(event.id == EventID("evt_genuine"))
        #expect(event.type == "com.gigs.subscription.activated")
        #expect(event.project == "prj_1")
        #expect(event.time == "2026-11-23T10:00:00Z")
        #expect(event.body == body)
        #expect(event.headers == headers)
        #expect(event.receivedAt == Int64(now.timeIntervalSince1970) * 1000)
    }

    @Test("Any of several configured secrets verifies (rotation)")
    func rotation() throws {
        let old = TestSigner.randomSecret()
        let new = TestSigner.randomSecret()
        let verifier = try verifier(secrets: [old, new])
        let body = SampleEvents.subscriptionActivated()
        let timestamp = Int64(now.timeIntervalSince1970)

        let withOld = try verifier.verify(
            headers: headers(TestSigner(secret: old), timestamp: timestamp, body: body), body: body)
        #expect(withOld.secretIndex == 0)
        let withNew = try verifier.verify(
            headers: headers(TestSigner(secret: new), timestamp: timestamp, body: body), body: body)
        #expect(withNew.secretIndex == 1)

        let stranger = TestSigner(secret: TestSigner.randomSecret())
        #expect(throws: IngestError.invalidSignature) {
            try verifier.verify(headers: headers(stranger, timestamp: timestamp, body: body), body: body)
        }
    }

    @Test("One matching v1 entry among several, other versions and garbage is enough")
    func severalEntries() throws {
        let body = SampleEvents.subscriptionActivated()
        let timestamp = Int64(now.timeIntervalSince1970)
        let valid = TestSigner().signature(id: "msg_1", timestamp: timestamp, body: body)
        let other = TestSigner(secret: TestSigner.randomSecret()).signature(
            id: "msg_1", timestamp: timestamp, body: body)
        let signature = "v1,!!notbase64!! v2,\(valid.dropFirst(3)) \(other) v1,AAAA  \(valid)"
        let headers = WebhookHeaders(id: "msg_1", timestamp: "\(timestamp)", signature: signature)
        #expect(try verifier().verify(headers: headers, body: body).id.rawValue.hasPrefix("evt_"))

        let onlyOtherVersions = WebhookHeaders(
            id: "msg_1", timestamp: "\(timestamp)", signature: "v2,\(valid.dropFirst(3))")
        #expect(throws: IngestError.invalidSignature) { try verifier().verify(headers: onlyOtherVersions, body: body) }
    }

    @Test("A changed body, id or timestamp breaks the signature")
    func tampering() throws {
        let body = SampleEvents.subscriptionActivated(id: "evt_1")
        let timestamp = Int64(now.timeIntervalSince1970)
        let signature = TestSigner().signature(id: "msg_1", timestamp: timestamp, body: body)
        let verifier = try verifier()

        var tamperedBody = body
        tamperedBody[tamperedBody.count - 2] = UInt8(ascii: " ")
        #expect(throws: IngestError.invalidSignature) {
            try verifier.verify(
                headers: WebhookHeaders(id: "msg_1", timestamp: "\(timestamp)", signature: signature),
                body: tamperedBody
            )
        }
        #expect(throws: IngestError.invalidSignature) {
            try verifier.verify(
                headers: WebhookHeaders(id: "msg_2", timestamp: "\(timestamp)", signature: signature), body: body)
        }
        #expect(throws: IngestError.invalidSignature) {
            try verifier.verify(
                headers: WebhookHeaders(id: "msg_1", timestamp: "\(timestamp - 1)", signature: signature),
                body: body
            )
        }
    }

    @Test(
        "Timestamps exactly at the tolerance pass; one second beyond fails, in both directions",
        arguments: [
            (-300, true), (300, true), (-301, false), (301, false), (0, true),
        ])
    func toleranceEdges(offset: Int64, accepted: Bool) throws {
        let body = SampleEvents.subscriptionActivated()
        let timestamp = Int64(now.timeIntervalSince1970) + offset
        let headers = headers(TestSigner(), timestamp: timestamp, body: body)
        if accepted {
            _ = try verifier().verify(headers: headers, body: body)
        } else {
            #expect(throws: IngestError.timestampOutOfRange) { try verifier().verify(headers: headers, body: body) }
        }
    }

    @Test(
        "Non-numeric timestamps are refused",
        arguments: ["", "abc", "1.5", "-5", "+1800000000", "99999999999999999999"])
    func badTimestamps(text: String) throws {
        let body = SampleEvents.subscriptionActivated()
        let headers = WebhookHeaders(id: "msg_1", timestamp: text, signature: "v1,AAAA")
        #expect(throws: IngestError.invalidSignatureHeaders) { try verifier().verify(headers: headers, body: body) }
    }

    @Test("Both header spellings are read, webhook-* first, names case-insensitive")
    func headerSpellings() throws {
        var svix = HTTPFields()
        svix[HTTPField.Name("Svix-Id")!] = "msg_svix"
        svix[HTTPField.Name("SVIX-TIMESTAMP")!] = "1"
        svix[HTTPField.Name("svix-signature")!] = "v1,x"
        #expect(try WebhookHeaders(fields: svix) == WebhookHeaders(id: "msg_svix", timestamp: "1", signature: "v1,x"))

        var both = svix
        both[HTTPField.Name("Webhook-Id")!] = "msg_standard"
        both[HTTPField.Name("webhook-timestamp")!] = "2"
        both[HTTPField.Name("WEBHOOK-SIGNATURE")!] = "v1,y"
        #expect(
            try WebhookHeaders(fields: both) == WebhookHeaders(id: "msg_standard", timestamp: "2", signature: "v1,y"))
    }

    @Test("Missing or repeated signature headers are refused")
    func missingAndRepeatedHeaders() throws {
        var fields = HTTPFields()
        fields[HTTPField.Name("webhook-id")!] = "msg_1"
        fields[HTTPField.Name("webhook-timestamp")!] = "1"
        #expect(throws: IngestError.missingSignatureHeaders) { try WebhookHeaders(fields: fields) }

        fields.append(HTTPField(name: HTTPField.Name("webhook-signature")!, value: "v1,a"))
        fields.append(HTTPField(name: HTTPField.Name("webhook-id")!, value: "msg_2"))
        #expect(throws: IngestError.invalidSignatureHeaders) { try WebhookHeaders(fields: fields) }
    }

    @Test("JSON that is not an event, and text that is not JSON, are told apart after the signature holds")
    func envelopeChecks() throws {
        let timestamp = Int64(now.timeIntervalSince1970)
        let cases: [(String, IngestError)] = [
            (#"{"id":"evt_1""#, .malformedJSON),
            ("not json", .malformedJSON),
            ("[1,2]", .notAGigsEvent),
            (#"{"id":"evt_1"}"#, .notAGigsEvent),
            (#"{"id":42,"type":"com.gigs.x"}"#, .notAGigsEvent),
            (#"{"id":"","type":"com.gigs.x"}"#, .notAGigsEvent),
        ]
        for (text, expected) in cases {
            let body = Array(text.utf8)
            #expect(throws: expected) {
                try verifier().verify(headers: headers(TestSigner(), timestamp: timestamp, body: body), body: body)
            }
        }
        let invalidUTF8: [UInt8] = [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]
        #expect(throws: IngestError.malformedJSON) {
            try verifier().verify(
                headers: headers(TestSigner(), timestamp: timestamp, body: invalidUTF8), body: invalidUTF8)
        }
    }

    @Test("Secrets print as <redacted>")
    func redaction() throws {
        let secret = try WebhookSecret(encoded: TestSigner.vectorSecret)
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "WebhookSecret(<redacted>)")
        #expect(throws: WebhookSecret.FormatError.self) { try WebhookSecret(encoded: "whsec_***") }
    }
}
