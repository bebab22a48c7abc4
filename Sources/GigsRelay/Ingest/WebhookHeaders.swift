import HTTPTypes

/// The three Standard Webhooks headers of one delivery.
///
/// Gigs' documentation names them `webhook-*`; Svix's defaults are `svix-*`. Both are accepted, the
/// `webhook-*` spelling first. Header names are case-insensitive.
public struct WebhookHeaders: Sendable, Equatable {
    /// `webhook-id`: the message id (`msg_…`), stable across retries.
    public let id: String
    /// `webhook-timestamp`: Unix seconds of this attempt, exactly as sent (it is part of the signed bytes).
    public let timestamp: String
    /// `webhook-signature`: space-separated `v1,<base64>` entries.
    public let signature: String

    public init(id: String, timestamp: String, signature: String) {
        self.id = id
        self.timestamp = timestamp
        self.signature = signature
    }

    /// Extracts the headers, refusing absent or repeated ones.
    public init(fields: HTTPFields) throws(IngestError) {
        self.id = try Self.single(fields, .webhookID, .svixID)
        self.timestamp = try Self.single(fields, .webhookTimestamp, .svixTimestamp)
        self.signature = try Self.single(fields, .webhookSignature, .svixSignature)
    }

    private static func single(
        _ fields: HTTPFields,
        _ preferred: HTTPField.Name,
        _ fallback: HTTPField.Name
    ) throws(IngestError) -> String {
        var values = fields[values: preferred]
        if values.isEmpty { values = fields[values: fallback] }
        guard let value = values.first, !value.isEmpty else { throw .missingSignatureHeaders }
        guard values.count == 1 else { throw .invalidSignatureHeaders }
        return value
    }
}

extension HTTPField.Name {
    package static let webhookID = HTTPField.Name("webhook-id")!
    package static let webhookTimestamp = HTTPField.Name("webhook-timestamp")!
    package static let webhookSignature = HTTPField.Name("webhook-signature")!
    static let svixID = HTTPField.Name("svix-id")!
    static let svixTimestamp = HTTPField.Name("svix-timestamp")!
    static let svixSignature = HTTPField.Name("svix-signature")!
}
