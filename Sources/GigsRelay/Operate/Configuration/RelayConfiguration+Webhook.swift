extension RelayConfiguration {
    /// `[webhook]`: what a genuine Gigs delivery looks like.
    public struct Webhook: Sendable {
        public var path: String
        public var toleranceSeconds: Int
        public var secrets: [SecretReference]
    }
}

extension RelayConfiguration.Webhook {
    enum Keys {
        static let path = ConfigKey.string(
            "path", form: "URL path", default: "/webhooks/gigs", reload: .needsRestart, "the path Gigs posts to")
        static let toleranceSeconds = ConfigKey.integer(
            "tolerance_seconds", in: 1...86_400, default: 300, reload: .applies,
            "accepted distance of `webhook-timestamp` from now, both ways")
        static let secrets = ConfigKey.secrets(
            "secrets", reload: .applies,
            "the endpoint's `whsec_…` signing secrets, at least one (two while rotating: list both, switch the endpoint in Gigs, remove the old one)"
        )
    }

    static let section = ConfigSection(
        name: "webhook", summary: "What a genuine Gigs delivery looks like.",
        keys: [Keys.path, Keys.toleranceSeconds, Keys.secrets])

    init(section: TOMLSection) throws(ConfigurationError) {
        path = try section.read(Keys.path)
        guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"), path != "/healthz" else {
            throw ConfigurationError(
                key: section.key(Keys.path), "must be a URL path starting with / (not /healthz), got \"\(path)\"")
        }
        toleranceSeconds = try section.read(Keys.toleranceSeconds)
        secrets = try section.read(
            Keys.secrets,
            atLeastOne: "at least one signing secret reference is required, e.g. [\"env:GIGS_WEBHOOK_SECRET\"]")
    }

    var effectiveKeys: [EffectiveKey] {
        [Keys.path.effective(path), Keys.toleranceSeconds.effective(toleranceSeconds), Keys.secrets.effective(secrets)]
    }
}
