import Foundation

/// Signs outgoing webhooks the Standard Webhooks v1 way, the same scheme gigs-relay verifies on ingest.
public struct WebhookSigner: Sendable {
    private let secret: WebhookSecret

    public init(secret: WebhookSecret) {
        self.secret = secret
    }

    /// The `v1,<base64>` signature of `<id>.<timestamp>.<body>`.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        let message = Self.signedContent(id: id, timestamp: String(timestamp), body: body)
        let mac = message.withUnsafeBytes { HMACSHA256.authenticationCode(key: secret.key, message: $0) }
        return "v1," + Data(mac).base64EncodedString()
    }

    /// The bytes a Standard Webhooks v1 signature covers: `<id>.<timestamp>.<body>`, the timestamp exactly
    /// as sent in its header.
    static func signedContent(id: String, timestamp: String, body: [UInt8]) -> [UInt8] {
        var message: [UInt8] = []
        message.reserveCapacity(id.utf8.count + timestamp.utf8.count + body.count + 2)
        message.append(contentsOf: id.utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: timestamp.utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: body)
        return message
    }
}
