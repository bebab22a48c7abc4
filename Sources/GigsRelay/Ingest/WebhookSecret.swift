import Foundation

/// A Standard Webhooks signing secret: the HMAC key decoded from `whsec_<base64>`.
///
/// Its descriptions print `<redacted>`, so a log line, error or dump can never reveal it.
public struct WebhookSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret could not be decoded; the message never repeats its value.
    public struct FormatError: Error, Sendable {}

    /// The HMAC key bytes.
    package let key: [UInt8]

    /// Decodes `whsec_<base64>` (the prefix is optional, as in the Svix libraries).
    public init(encoded: String) throws(FormatError) {
        let base64 = encoded.hasPrefix("whsec_") ? String(encoded.dropFirst("whsec_".count)) : encoded
        guard let data = Data(base64Encoded: base64), !data.isEmpty else { throw FormatError() }
        self.key = Array(data)
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "WebhookSecret(<redacted>)" }
}
