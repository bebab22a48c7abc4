import Foundation

/// Signs outgoing webhooks the Standard Webhooks v1 way, the same scheme gigs-relay verifies on ingest.
public struct WebhookSigner: Sendable {
    private let secret: WebhookSecret

    public init(secret: WebhookSecret) {
        self.secret = secret
    }

    /// The `v1,<base64>` signature of `<id>.<timestamp>.<body>`.
    public func signature(id: String, timestamp: Int64, body: [UInt8]) -> String {
        var message: [UInt8] = []
        message.reserveCapacity(id.utf8.count + body.count + 24)
        message.append(contentsOf: id.utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: String(timestamp).utf8)
        message.append(UInt8(ascii: "."))
        message.append(contentsOf: body)
        let mac = message.withUnsafeBytes { HMACSHA256.authenticationCode(key: secret.key, message: $0) }
        return "v1," + Data(mac).base64EncodedString()
    }
}
