import Foundation
import GigsRelay
import HTTPTypes

/// Signs test deliveries the way Gigs (through Svix) does: Standard Webhooks v1 over `id.timestamp.body`.
public struct TestSigner: Sendable {
    /// The GIGS.md / Svix test-vector secret, used as the default test secret.
    public static let vectorSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

    /// The `whsec_…` secret this signer uses.
    public let encodedSecret: String
    private let signer: WebhookSigner

    public init(secret: String = TestSigner.vectorSecret) {
        self.encodedSecret = secret
        // Test secrets are well-formed by construction.
        self.signer = WebhookSigner(secret: try! WebhookSecret(encoded: secret))
    }

    /// A fresh random `whsec_…` secret.
    public static func randomSecret() -> String {
        let bytes = (0..<32).map { _ in UInt8.random(in: 0...255) }
        return "whsec_" + Data(bytes).base64EncodedString()
    }

    /// The `v1,<base64>` signature entry.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        signer.signature(id: id, timestamp: timestamp, body: body)
    }

    /// Complete request headers for a signed JSON delivery.
    public func headers(
        id: String = "msg_\(UUID().uuidString)",
        timestamp: Int64 = Int64(Date().timeIntervalSince1970),
        body: [UInt8],
        spelling: String = "webhook"
    ) -> HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[HTTPField.Name("\(spelling)-id")!] = id
        fields[HTTPField.Name("\(spelling)-timestamp")!] = "\(timestamp)"
        fields[HTTPField.Name("\(spelling)-signature")!] = signature(id: id, timestamp: timestamp, body: body)
        return fields
    }
}

extension TestSigner {
    /// A ``VerifiedEvent`` made the only way there is: by signing a body and verifying it.
    public func verifiedEvent(
        id: String, type: String = "com.gigs.subscription.activated", clock: any RelayClock = SystemClock()
    ) throws -> VerifiedEvent {
        try verifiedEvent(id: id, body: SampleEvents.body(id: id, type: type), clock: clock)
    }

    /// A ``VerifiedEvent`` of a given body (its envelope's `id` should be `id`), received at `clock`'s now.
    public func verifiedEvent(id: String, body: [UInt8], clock: any RelayClock = SystemClock()) throws
        -> VerifiedEvent
    {
        let timestamp = clock.now / 1000
        let headers = WebhookHeaders(
            id: "msg_\(id)",
            timestamp: "\(timestamp)",
            signature: signature(id: "msg_\(id)", timestamp: timestamp, body: body)
        )
        let verifier = SignatureVerifier(
            secrets: [try WebhookSecret(encoded: encodedSecret)], toleranceSeconds: 300, clock: clock)
        return try verifier.verify(headers: headers, body: body)
    }
}
