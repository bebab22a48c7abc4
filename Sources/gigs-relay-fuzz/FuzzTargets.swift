import Foundation
import GigsRelay
import HTTPTypes
import NIOCore

/// What the fuzzer exercises: the parts of ingest that read attacker-controlled bytes before anything is
/// trusted, and the parsers of what peers answer.
///
/// The first input byte picks what is fuzzed; the rest is the input. Below 0x80 it picks one of ingest's
/// parsers; from 0x80 one of the parsers of what peers answer (`Retry-After`, SMTP replies with the
/// STARTTLS boundary, Gigs API error bodies). Every call must return (no crash, no hang); outcomes are
/// ignored.
enum FuzzTargets {
    /// A fixed secret: fuzzed signatures are checked against it (and almost never match).
    private static let secret = try! WebhookSecret(encoded: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    private static let verifier = SignatureVerifier(
        secrets: [secret],
        toleranceSeconds: 300,
        clock: FixedClock()
    )

    /// Fuzzed timestamps are judged against one fixed moment.
    private struct FixedClock: RelayClock {
        var now: Int64 { 1_795_000_000_000 }
        var instant: ContinuousClock.Instant { .now }
    }

    static func run(_ data: [UInt8]) {
        guard let mode = data.first else { return }
        let input = Array(data.dropFirst())
        if mode >= 0x80 {
            peer(mode: mode, input)
            return
        }
        switch mode % 3 {
        case 0:
            // Signature headers: "id\ntimestamp\nsignature\nbody…", through header extraction and verification.
            let parts = input.split(separator: UInt8(ascii: "\n"), maxSplits: 3, omittingEmptySubsequences: false)
            let text = parts.prefix(3).map { String(decoding: $0, as: UTF8.self) }
            var fields = HTTPFields()
            for (name, value) in zip([HTTPField.Name.webhookID, .webhookTimestamp, .webhookSignature], text) {
                fields.append(HTTPField(name: name, value: value))
            }
            guard let headers = try? WebhookHeaders(fields: fields) else { return }
            _ = try? verifier.verify(headers: headers, body: parts.count > 3 ? Array(parts[3]) : [])
        case 1:
            // The event envelope decoder on arbitrary bytes.
            _ = try? EventEnvelope.decode(input)
        default:
            // Both, with the envelope behind a signature that verifies: the path a genuine event takes.
            let id = "msg_fuzz"
            let timestamp = "1795000000"
            let signature = WebhookSigner(secret: secret)
                .signature(id: id, timestamp: 1_795_000_000, body: input)
            _ = try? verifier.verify(
                headers: WebhookHeaders(id: id, timestamp: timestamp, signature: signature), body: input)
        }
    }

    /// What downstream servers, SMTP servers and the Gigs API send back.
    private static func peer(mode: UInt8, _ input: [UInt8]) {
        switch mode % 3 {
        case 0:
            let delay = RetryAfter.parse(String(decoding: input, as: UTF8.self))
            _ = RetryPolicy().delay(afterAttempt: Int(mode), retryAfter: delay)
        case 1:
            // SMTP replies, with STARTTLS sent first so the boundary is exercised too.
            let boundary = StartTLSBoundary()
            boundary.arm()
            var decoder = SMTPReplyDecoder(boundary: boundary)
            var buffer = ByteBuffer(bytes: input)
            while let reply = try? decoder.nextReply(from: &buffer) {
                _ = reply.description
                _ = reply.extensions
            }
        default:
            _ = GigsAPIClient.errorDetail(input)
        }
    }
}
