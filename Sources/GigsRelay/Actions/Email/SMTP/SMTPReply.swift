import NIOConcurrencyHelpers
import NIOCore

/// One SMTP reply: a three-digit code and its text lines (`250-…` continuation lines joined).
package struct SMTPReply: Sendable, CustomStringConvertible {
    let code: Int
    let lines: [String]

    /// The EHLO keywords, upper-cased (`STARTTLS`, `AUTH PLAIN LOGIN`, …), from the lines after the first.
    package var extensions: [String] { lines.dropFirst().map { $0.uppercased() } }

    /// `250 ok`, bounded for attempt errors.
    package var description: String { "\(code) \(lines.joined(separator: " "))".bounded(200) }
}

/// Splits the server's bytes into ``SMTPReply`` values (RFC 5321 §4.2), refusing oversized or malformed
/// replies so a hostile server cannot make the client buffer without bound.
package struct SMTPReplyDecoder: ByteToMessageDecoder {
    package typealias InboundOut = SMTPReply

    static let maximumLineLength = 4096
    static let maximumLines = 128

    private var code: Int?
    private var lines: [String] = []
    private let boundary: StartTLSBoundary

    package init(boundary: StartTLSBoundary = StartTLSBoundary()) {
        self.boundary = boundary
    }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let reply = try nextReply(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(reply))
        return .continue
    }

    /// Reads lines from `buffer` until a reply is complete; nil when more bytes are needed. Throws for a
    /// line over ``maximumLineLength``, more than ``maximumLines`` lines, a code outside 200–599, a
    /// continuation with another code, or plaintext after the STARTTLS reply.
    package mutating func nextReply(from buffer: inout ByteBuffer) throws -> SMTPReply? {
        while buffer.readableBytes > 0 {
            // Bytes after the STARTTLS reply and before the TLS handler: they would be read as if encrypted.
            try boundary.refusePlaintextAfterReply()
            guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                guard buffer.readableBytes <= Self.maximumLineLength else { throw SMTPError.malformedReply }
                return nil
            }
            let length = newline - buffer.readerIndex + 1
            guard length <= Self.maximumLineLength, var bytes = buffer.readBytes(length: length) else {
                throw SMTPError.malformedReply
            }
            bytes.removeLast()
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            guard bytes.count >= 3, bytes[0..<3].allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
                let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)),
                (200...599).contains(code),
                self.code == nil || self.code == code
            else { throw SMTPError.malformedReply }
            let separator = bytes.count > 3 ? bytes[3] : UInt8(ascii: " ")
            lines.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
            switch separator {
            case UInt8(ascii: "-"):
                guard lines.count < Self.maximumLines else { throw SMTPError.malformedReply }
                self.code = code
            case UInt8(ascii: " "):
                try boundary.replyDecoded(code: code, bytesLeft: buffer.readableBytes)
                let reply = SMTPReply(code: code, lines: lines)
                self.code = nil
                lines = []
                return reply
            default:
                throw SMTPError.malformedReply
            }
        }
        return nil
    }
}

/// Where the plaintext part of an SMTP conversation ends: at the server's `220` to STARTTLS.
///
/// Anything the server sends after that reply and before the TLS handshake is an error (RFC 3207 §4.2
/// and the "STARTTLS command injection" class of bugs): otherwise replies pipelined in plain text, a
/// `250` for a message the server refused say, would be read as if they had come over TLS. The decoder
/// and the client share one boundary; the decoder runs on the channel's event loop, the client arms and
/// closes the boundary from its task, hence the lock.
package final class StartTLSBoundary: Sendable {
    private enum Phase {
        case plaintext
        /// STARTTLS was sent; its reply is awaited.
        case awaitingReply
        /// The 220 arrived; nothing may follow until TLS is up.
        case replied
        /// Something followed the 220.
        case violated
        /// The TLS handler is installed: what follows is decrypted.
        case encrypted
    }

    private let phase = NIOLockedValueBox(Phase.plaintext)

    package init() {}

    /// Called just before STARTTLS is written.
    package func arm() { phase.withLockedValue { $0 = .awaitingReply } }

    /// The decoder found a complete reply, with `bytesLeft` more bytes already received behind it.
    func replyDecoded(code: Int, bytesLeft: Int) throws(SMTPError) {
        let violated = phase.withLockedValue { phase in
            guard phase == .awaitingReply else { return false }
            guard code == 220 else {
                phase = .plaintext
                return false
            }
            phase = bytesLeft == 0 ? .replied : .violated
            return bytesLeft > 0
        }
        if violated { throw SMTPError.plaintextAfterStartTLS }
    }

    /// The decoder received bytes: refused between the 220 and the TLS handler.
    func refusePlaintextAfterReply() throws(SMTPError) {
        let violated = phase.withLockedValue { phase in
            guard phase == .replied || phase == .violated else { return false }
            phase = .violated
            return true
        }
        if violated { throw SMTPError.plaintextAfterStartTLS }
    }

    /// Called on the event loop while the TLS handler is installed: fails when plaintext followed the 220.
    func beginTLS() throws(SMTPError) {
        let clean = phase.withLockedValue { phase in
            guard phase == .replied else { return false }
            phase = .encrypted
            return true
        }
        if !clean { throw SMTPError.plaintextAfterStartTLS }
    }
}
