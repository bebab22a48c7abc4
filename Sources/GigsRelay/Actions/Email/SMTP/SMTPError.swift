/// Why sending an email failed, with whether trying again later may help.
///
/// Messages name the SMTP stage and the server's reply; never the message, the password or the
/// AUTH exchange.
struct SMTPError: Error, Sendable, CustomStringConvertible {
    private enum Code: Sendable {
        case rejected(stage: String, reply: SMTPReply)
        case connection(String)
        case malformedReply
        case plaintextAfterStartTLS
        case unsupported(String)
    }

    private let code: Code

    /// A reply that is not the expected positive one.
    static func rejected(_ stage: String, _ reply: SMTPReply) -> SMTPError {
        SMTPError(code: .rejected(stage: stage, reply: reply))
    }

    /// The connection could not be opened, broke, or TLS failed.
    static func connection(_ what: String) -> SMTPError { SMTPError(code: .connection(what)) }

    /// The server sent something that is not an SMTP reply.
    static let malformedReply = SMTPError(code: .malformedReply)

    /// The server sent bytes after its STARTTLS reply, before the TLS handshake.
    static let plaintextAfterStartTLS = SMTPError(code: .plaintextAfterStartTLS)

    /// The server lacks something the configuration requires (STARTTLS, an AUTH mechanism).
    static func unsupported(_ what: String) -> SMTPError { SMTPError(code: .unsupported(what)) }

    /// 4xx replies and transport failures may pass; 5xx replies and missing capabilities will not.
    var isRetryable: Bool {
        switch code {
        case .rejected(_, let reply): reply.code < 500
        case .connection, .malformedReply, .plaintextAfterStartTLS: true
        case .unsupported: false
        }
    }

    var description: String {
        switch code {
        case .rejected(let stage, let reply): "SMTP \(stage) rejected: \(reply)"
        case .connection(let what): "SMTP connection failed: \(what)".bounded(300)
        case .malformedReply: "SMTP server sent a malformed reply"
        case .plaintextAfterStartTLS:
            "SMTP server sent data after its STARTTLS reply, before the TLS handshake (refused: it could be injected)"
        case .unsupported(let what): "SMTP server \(what)"
        }
    }
}
