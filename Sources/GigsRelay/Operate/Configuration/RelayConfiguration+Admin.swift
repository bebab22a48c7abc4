extension RelayConfiguration {
    /// `[admin]`: where health, metrics, the operator API and the console are served.
    public struct Admin: Sendable {
        public var listen: ListenAddress?
        public var token: SecretReference?
        public var redact: [JSONPointer]
    }
}

extension RelayConfiguration.Admin {
    enum Keys {
        static let listen = ConfigKey.string(
            "listen", form: "`HOST:PORT` or `unix:PATH`", note: "on `server.listen`", reload: .needsRestart,
            "a separate listener for `/healthz`, `/readyz`, `/metrics`, the operator API and the console")
        static let token = ConfigKey.secret(
            "token", reload: .needsRestart,
            "the operator API's bearer token and the console's sign-in; **required** when the admin listener is not loopback or a Unix socket. Without it the console is off"
        )
        static let redact = ConfigKey.strings(
            "redact", form: "JSON pointers", default: [], reload: .needsRestart,
            "payload fields the operator API and the console mask (`[\"/data/user/email\"]`)")
    }

    static let section = ConfigSection(
        name: "admin",
        summary: "Health, metrics, the [operator API](api.md) and the [console](console.md).",
        keys: [Keys.listen, Keys.token, Keys.redact])

    init(section: TOMLSection) throws(ConfigurationError) {
        listen = try section.value(Keys.listen).map { (text) throws(ConfigurationError) in
            try ListenAddress(parsing: text, key: section.key(Keys.listen))
        }
        token = try section.value(Keys.token)
        redact = try section.read(Keys.redact, each: JSONPointer.init)
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.listen.effective(listen.map { "\($0)" }), Keys.token.effective(token),
            Keys.redact.effective(redact.map(\.description)),
        ]
    }
}
