import Foundation

/// One message the SMTP receiver accepted, as Python's `email` package parsed it.
public struct ReceivedMail: Decodable, Sendable {
    public let number: Int
    public let mailFrom: String
    public let rcptTos: [String]
    /// The raw message, base64.
    public let data: String
    public let from: String
    public let to: String
    public let subject: String
    public let messageId: String
    /// The decoded `text/plain` part, with LF line ends.
    public let text: String?
    /// The decoded `text/html` part, with LF line ends.
    public let html: String?
    /// MIME defects Python's parser found.
    public let defects: [String]
    public let longestLine: Int
    /// Whether the session had been upgraded with STARTTLS.
    public let tls: Bool
    public let authenticated: Bool?
    public let login: String?
    /// The reply code it answered DATA with.
    public let reply: String

    /// The raw message bytes as received (after the server undid dot-stuffing).
    public var raw: String { String(decoding: Data(base64Encoded: data) ?? Data(), as: UTF8.self) }
}

/// A real SMTP server (`Tests/Support/smtp_receiver.py`, aiosmtpd) run as a child process: STARTTLS with
/// a throwaway self-signed certificate for 127.0.0.1, AUTH for one user, scripted DATA replies.
public final class SMTPReceiver: Sendable {
    public let port: Int
    public let username = "relay"
    public let password = "smtp-pass-Z3x9"
    private let process: Process
    private let directory = TemporaryDirectory(prefix: "gigs-relay-smtp")

    /// The PEM certificate the server presents, for `smtp.ca_file`.
    public var certificatePath: String { directory.file("cert.pem") }

    /// `[smtp]` for this server: its port and login (the password from `$SMTP_PASSWORD`), trusting its
    /// certificate unless `trustCertificate` is false.
    public func configurationTOML(from: String, trustCertificate: Bool = true) -> String {
        """
        [smtp]
        host = "127.0.0.1"
        port = \(port)
        username = "\(username)"
        password = "env:SMTP_PASSWORD"
        from = "\(from)"
        \(trustCertificate ? "ca_file = \"\(certificatePath)\"" : "")
        """
    }

    /// - Parameters:
    ///   - tls: offer (and require) STARTTLS.
    ///   - authenticate: require AUTH as ``username``/``password``.
    ///   - authPlain: offer AUTH PLAIN (else only LOGIN).
    ///   - replies: reply codes for messages 1, 2, … (the last repeats).
    public init(tls: Bool = true, authenticate: Bool = true, authPlain: Bool = true, replies: String = "250") throws {
        try replies.write(toFile: directory.file("replies"), atomically: true, encoding: .utf8)
        var arguments = ["--record", directory.file("messages.jsonl"), "--replies-file", directory.file("replies")]
        if tls {
            try makeSelfSignedCertificate(certificate: directory.file("cert.pem"), key: directory.file("key.pem"))
            arguments += ["--cert", directory.file("cert.pem"), "--key", directory.file("key.pem")]
        }
        if authenticate { arguments += ["--user", username, "--password", password] }
        if !authPlain { arguments.append("--no-auth-plain") }
        let helper = try HelperProcess(script: "smtp_receiver.py", arguments: arguments)
        self.process = helper.process
        self.port = helper.port
    }

    deinit {
        process.terminate()
        directory.remove()
    }

    /// Changes the scripted replies for the following messages.
    public func setReplies(_ replies: String) throws {
        try replies.write(toFile: directory.file("replies"), atomically: true, encoding: .utf8)
    }

    /// Every message so far, accepted or not, in arrival order.
    public var messages: [ReceivedMail] {
        HelperProcess.records(ReceivedMail.self, in: directory.file("messages.jsonl"))
    }

    /// Waits until at least `count` messages arrived and returns them.
    public func waitForMessages(_ count: Int, timeout: Duration = .seconds(30)) async throws -> [ReceivedMail] {
        try await eventually(timeout: timeout, "\(count) messages at the SMTP server") { messages.count >= count }
        return messages
    }
}
