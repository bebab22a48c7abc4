import Foundation
import NIOCore

/// `[smtp]`: the mail server the email actions submit through.
public struct SMTPConfiguration: Sendable {
    /// `smtp.starttls`: whether the session must be upgraded to TLS before AUTH and the message.
    public enum StartTLS: String, Sendable {
        /// The server must offer STARTTLS and the certificate must verify; otherwise nothing is sent.
        case required
        /// Plain text; accepted only for a loopback host (a local relay).
        case none
    }

    /// `smtp.host`.
    public var host: String
    /// `smtp.port`: default 587 (submission).
    public var port: Int
    /// `smtp.starttls`: default `required`; `none` only for loopback hosts.
    public var starttls: StartTLS
    /// `smtp.username`: AUTH is used only when set (PLAIN, or LOGIN when PLAIN is not offered).
    public var username: String?
    /// `smtp.password`: a secret reference; required with `username`.
    public var password: SecretReference?
    /// `smtp.from`: the sender, e.g. `Example <noreply@example.com>`.
    public var from: MailAddress
    /// `smtp.ca_file`: PEM certificates to trust instead of the system's (a private relay's CA).
    public var caFile: String?
    /// `smtp.helo_name`: the name sent with EHLO; default the machine's host name.
    public var heloName: String?

    init(section: TOMLSection) throws(ConfigurationError) {
        self.host = try section.requiredString("host")
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else {
            throw ConfigurationError(key: section.key("host"), "must be a host name or an IP address")
        }
        self.port = try section.integer("port", in: 1...65535) ?? 587
        let mode = try section.string("starttls") ?? "required"
        guard let starttls = StartTLS(rawValue: mode) else {
            throw ConfigurationError(key: section.key("starttls"), "must be \"required\" or \"none\", got \"\(mode)\"")
        }
        guard starttls == .required || IPNetwork.isLoopback(host: host) else {
            throw ConfigurationError(
                key: section.key("starttls"),
                "\"none\" is allowed only for a loopback host: mail and credentials must not travel in plain text"
            )
        }
        self.starttls = starttls
        self.username = try section.string("username")
        self.password = try section.string("password").map { (text) throws(ConfigurationError) in
            try SecretReference(parsing: text, key: section.key("password"))
        }
        guard (username == nil) == (password == nil) else {
            throw ConfigurationError(key: section.key("password"), "smtp.username and smtp.password go together")
        }
        let from = try section.requiredString("from")
        guard let address = MailAddress(parsing: from) else {
            throw ConfigurationError(
                key: section.key("from"), "must be an address, e.g. \"Example <noreply@example.com>\", got \"\(from)\"")
        }
        self.from = address
        self.caFile = try section.string("ca_file")
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(key: section.key("ca_file"), "cannot read \(caFile)")
        }
        self.heloName = try section.string("helo_name")
        if let heloName,
            heloName.isEmpty
                || !heloName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) })
        {
            throw ConfigurationError(key: section.key("helo_name"), "must be a host name")
        }
        try section.refuseUnknownKeys()
    }
}
