import Foundation
import NIOCore

/// `[smtp]`: the mail server the email actions submit through.
public struct SMTPConfiguration: Sendable {
    /// `smtp.starttls`: whether the session must be upgraded to TLS before AUTH and the message.
    public enum StartTLS: String, Sendable, CaseIterable {
        /// The server must offer STARTTLS and the certificate must verify; otherwise nothing is sent.
        case required
        /// Plain text; accepted only for a loopback host (a local relay).
        case none
    }

    public var host: String
    public var port: Int
    public var starttls: StartTLS
    /// AUTH is used only when set.
    public var username: String?
    public var password: SecretReference?
    public var from: MailAddress
    public var caFile: String?
    public var heloName: String?

    enum Keys {
        static let host = ConfigKey.string(
            "host", form: "host name or IP address", required: true, reload: .applies, "the mail server")
        static let port = ConfigKey.integer(
            "port", in: 1...65535, default: 587, reload: .applies, "its submission port")
        static let starttls = ConfigKey.choice(
            "starttls", StartTLS.allCases.map(\.rawValue), default: StartTLS.required.rawValue, reload: .applies,
            "`required`: the server must offer STARTTLS and its certificate must verify, or nothing is sent; `none` only for a loopback relay"
        )
        static let username = ConfigKey.string(
            "username", form: "string", reload: .applies,
            "AUTH PLAIN (or LOGIN when PLAIN is not offered) as this user; with `password`")
        static let password = ConfigKey.secret("password", reload: .applies, "the AUTH password; with `username`")
        static let from = ConfigKey.string(
            "from", form: "address (`Example <noreply@example.com>`)", required: true, reload: .applies, "the sender")
        static let caFile = ConfigKey.string(
            "ca_file", form: "file path", note: "the system's", reload: .applies,
            "PEM certificates to trust instead of the system's (a private relay's CA)")
        static let heloName = ConfigKey.string(
            "helo_name", form: "host name", note: "the machine's host name", reload: .applies, "the name sent with EHLO"
        )
    }

    static let section = ConfigSection(
        name: "smtp",
        summary:
            "The mail server `email` actions and `channel = \"email\"` install links submit through; leave it out when none is configured.",
        keys: [
            Keys.host, Keys.port, Keys.starttls, Keys.username, Keys.password, Keys.from, Keys.caFile, Keys.heloName,
        ])

    init(section: TOMLSection) throws(ConfigurationError) {
        self.host = try section.read(Keys.host)
        guard host.allSatisfy({ $0.isLetter || $0.isNumber || ".-:".contains($0) }) else {
            throw ConfigurationError(key: section.key(Keys.host), "must be a host name or an IP address")
        }
        self.port = try section.read(Keys.port)
        let starttls = try section.read(Keys.starttls, as: StartTLS.self)
        guard starttls == .required || IPNetwork.isLoopback(host: host) else {
            throw ConfigurationError(
                key: section.key(Keys.starttls),
                "\"none\" is allowed only for a loopback host: mail and credentials must not travel in plain text"
            )
        }
        self.starttls = starttls
        self.username = try section.value(Keys.username)
        self.password = try section.value(Keys.password)
        guard (username == nil) == (password == nil) else {
            throw ConfigurationError(key: section.key(Keys.password), "smtp.username and smtp.password go together")
        }
        let from = try section.read(Keys.from)
        guard let address = MailAddress(parsing: from) else {
            throw ConfigurationError(
                key: section.key(Keys.from),
                "must be an address, e.g. \"Example <noreply@example.com>\", got \"\(from)\"")
        }
        self.from = address
        self.caFile = try section.value(Keys.caFile)
        if let caFile, !FileManager.default.isReadableFile(atPath: caFile) {
            throw ConfigurationError(key: section.key(Keys.caFile), "cannot read \(caFile)")
        }
        self.heloName = try section.value(Keys.heloName)
        if let heloName,
            heloName.isEmpty
                || !heloName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ".-".contains($0)) })
        {
            throw ConfigurationError(key: section.key(Keys.heloName), "must be a host name")
        }
        try section.refuseUnknownKeys()
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.host.effective(host), Keys.port.effective(port), Keys.starttls.effective(starttls.rawValue),
            Keys.username.effective(username), Keys.password.effective(password),
            Keys.from.effective(from.description), Keys.caFile.effective(caFile), Keys.heloName.effective(heloName),
        ]
    }
}
