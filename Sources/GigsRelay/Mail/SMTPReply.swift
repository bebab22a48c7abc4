import NIOCore

/// One SMTP reply: a three-digit code and its text lines (`250-…` continuation lines joined).
struct SMTPReply: Sendable, CustomStringConvertible {
    let code: Int
    let lines: [String]

    /// The EHLO keywords, upper-cased (`STARTTLS`, `AUTH PLAIN LOGIN`, …), from the lines after the first.
    var extensions: [String] { lines.dropFirst().map { $0.uppercased() } }

    /// `250 ok`, bounded for attempt errors.
    var description: String { "\(code) \(lines.joined(separator: " "))".bounded(200) }
}

/// Splits the server's bytes into ``SMTPReply`` values (RFC 5321 §4.2), refusing oversized or malformed
/// replies so a hostile server cannot make the client buffer without bound.
struct SMTPReplyDecoder: ByteToMessageDecoder {
    typealias InboundOut = SMTPReply

    static let maximumLineLength = 4096
    static let maximumLines = 128

    private var code: Int?
    private var lines: [String] = []

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            guard buffer.readableBytes <= Self.maximumLineLength else { throw SMTPError.malformedReply }
            return .needMoreData
        }
        let length = newline - buffer.readerIndex + 1
        guard length <= Self.maximumLineLength, var bytes = buffer.readBytes(length: length) else {
            throw SMTPError.malformedReply
        }
        bytes.removeLast()
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)),
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
            context.fireChannelRead(wrapInboundOut(SMTPReply(code: code, lines: lines)))
            self.code = nil
            lines = []
        default:
            throw SMTPError.malformedReply
        }
        return .continue
    }
}
