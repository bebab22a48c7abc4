import Foundation

/// `[gigs]`: how to reach the Gigs REST API.
public struct GigsAPIConfiguration: Sendable {
    public var apiURL: URL
    public var allowInsecure: Bool
    /// The project id every call is under.
    public var project: String
    /// A reference to the project API key.
    public var token: SecretReference
    /// How long one call may take, answer included.
    public var timeoutSeconds: Int

    enum Keys {
        static let apiURL = ConfigKey.string(
            "api_url", form: "URL", default: "https://api.gigs.com", reload: .applies,
            "the Gigs API; plain http only to loopback (tests) unless `allow_insecure`")
        static let allowInsecure = ConfigKey.bool(
            "allow_insecure", default: false, reload: .applies, "plain http to a host that is not loopback is allowed")
        static let project = ConfigKey.string(
            "project", form: "project id", required: true, reload: .applies, "the project every call is under")
        static let token = ConfigKey.secret(
            "token", required: true, reload: .applies, "the project API key")
        static let timeoutSeconds = ConfigKey.integer(
            "timeout_seconds", in: 1...300, default: 30, reload: .applies,
            "how long one call may take, its answer included (an install-links attempt is bounded by its own timeout too)"
        )
    }

    static let section = ConfigSection(
        name: "gigs",
        summary: "The Gigs REST API, for `esim-install-links` actions; leave it out when none is configured.",
        keys: [Keys.apiURL, Keys.allowInsecure, Keys.project, Keys.token, Keys.timeoutSeconds])

    init(section: TOMLSection) throws(ConfigurationError) {
        self.allowInsecure = try section.read(Keys.allowInsecure)
        self.apiURL = try section.url(Keys.apiURL, allowInsecure: allowInsecure)
        self.project = try section.read(Keys.project)
        guard project.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            throw ConfigurationError(key: section.key(Keys.project), "must be a Gigs project id")
        }
        self.token = try section.read(Keys.token)
        self.timeoutSeconds = try section.read(Keys.timeoutSeconds)
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.apiURL.effective(apiURL.absoluteString), Keys.allowInsecure.effective(allowInsecure),
            Keys.project.effective(project), Keys.token.effective(token),
            Keys.timeoutSeconds.effective(timeoutSeconds),
        ]
    }
}
