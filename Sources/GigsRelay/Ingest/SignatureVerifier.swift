import Foundation

/// Verifies Standard Webhooks v1 signatures (the scheme Gigs sends through Svix) and turns a genuine
/// delivery into a ``VerifiedEvent``.
///
/// The signed bytes are `<id>.<timestamp>.<raw body>`; the MAC is HMAC-SHA256 under any configured
/// secret, base64 encoded, in one of the space-separated `v1,` entries. The timestamp must lie within
/// the tolerance of the clock in both directions. The body is parsed only after the signature holds.
public struct SignatureVerifier: Sendable {
    /// Entries looked at in one signature header; more are ignored so a flood cannot cost CPU.
    static let maxSignatureEntries = 16

    private let secrets: [WebhookSecret]
    private let toleranceSeconds: Int64
    private let clock: any RelayClock

    /// - Parameters:
    ///   - secrets: the signing secrets, in configuration order; at least one.
    ///   - toleranceSeconds: how far the timestamp may be from the clock, either way.
    ///   - clock: where the time of receipt is read (the reorder window starts there).
    public init(secrets: [WebhookSecret], toleranceSeconds: Int, clock: any RelayClock = SystemClock()) {
        precondition(!secrets.isEmpty, "a verifier needs at least one secret")
        self.secrets = secrets
        self.toleranceSeconds = Int64(toleranceSeconds)
        self.clock = clock
    }

    /// Checks the timestamp and signature, then decodes the event envelope.
    public func verify(headers: WebhookHeaders, body: [UInt8]) throws(IngestError) -> VerifiedEvent {
        let receivedAt = clock.now
        let timestamp = try checkTimestamp(headers.timestamp, now: receivedAt)
        let secretIndex = try matchingSecretIndex(headers: headers, body: body)
        let envelope = try EventEnvelope.decode(body)
        return VerifiedEvent(
            envelope: envelope,
            headers: headers,
            timestamp: timestamp,
            body: body,
            receivedAt: receivedAt,
            secretIndex: secretIndex
        )
    }

    private func checkTimestamp(_ text: String, now: Int64) throws(IngestError) -> Int64 {
        guard text.utf8.count <= 18, !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let timestamp = Int64(text)
        else {
            throw .invalidSignatureHeaders
        }
        let current = now / 1000
        guard abs(current - timestamp) <= toleranceSeconds else { throw .timestampOutOfRange }
        return timestamp
    }

    /// The index of the first secret whose MAC matches one of the header's `v1` entries.
    private func matchingSecretIndex(headers: WebhookHeaders, body: [UInt8]) throws(IngestError) -> Int {
        let candidates = headers.signature.split(separator: " ", omittingEmptySubsequences: true)
            .prefix(Self.maxSignatureEntries)
            .compactMap(Self.decodeV1)
        guard !candidates.isEmpty else { throw .invalidSignature }

        let signed = WebhookSigner.signedContent(id: headers.id, timestamp: headers.timestamp, body: body)

        let matchedIndex: Int? = signed.withUnsafeBytes { message in
            secrets.indices.first { index in
                let expected = HMACSHA256.authenticationCode(key: secrets[index].key, message: message)
                // Compare with every candidate so the time taken does not reveal which one matched.
                return candidates.reduce(false) { matched, candidate in
                    HMACSHA256.constantTimeEquals(expected, candidate) || matched
                }
            }
        }
        guard let matchedIndex else { throw .invalidSignature }
        return matchedIndex
    }

    /// The MAC bytes of a `v1,<base64>` entry; nil for other versions and undecodable entries.
    private static func decodeV1(_ entry: Substring) -> [UInt8]? {
        guard entry.hasPrefix("v1,") else { return nil }
        guard let data = Data(base64Encoded: String(entry.dropFirst(3))), data.count == HMACSHA256.byteCount else {
            return nil
        }
        return Array(data)
    }
}
