extension RelayConfiguration {
    /// `[server]`: the HTTP listener.
    public struct Server: Sendable {
        public var listen: ListenAddress
        public var maxBodyBytes: Int
        public var maxBodyBytesInFlight: Int
        public var idleTimeoutSeconds: Int
        public var headerTimeoutSeconds: Int
        public var bodyTimeoutSeconds: Int
        public var maxConnections: Int
        public var trustedProxies: [IPNetwork]
        public var maxFailedVerifications: Int
        public var failedVerificationWindowSeconds: Int
    }
}

extension RelayConfiguration.Server {
    enum Keys {
        static let listen = ConfigKey.string(
            "listen", form: "`HOST:PORT`, `[IPv6]:PORT` or `unix:PATH`", default: "127.0.0.1:8080",
            reload: .needsRestart,
            "where the webhook (and, without `admin.listen`, the admin endpoints) listens; port 0 picks a free port")
        static let maxBodyBytes = ConfigKey.integer(
            "max_body_bytes", in: 1024...(256 * 1_048_576), default: 1_048_576, reload: .needsRestart,
            "larger bodies are answered 413 without being read")
        static let maxBodyBytesInFlight = ConfigKey.integer(
            "max_body_bytes_in_flight", in: 1024...(64 * 1024 * 1_048_576), default: 64 * 1_048_576,
            reload: .needsRestart,
            "body bytes all requests together may hold (at least `max_body_bytes`); past it a request is answered 503 `server_busy` before its body is read"
        )
        static let idleTimeoutSeconds = ConfigKey.integer(
            "idle_timeout_seconds", in: 1...3600, default: 30, reload: .needsRestart,
            "an idle or stalled connection is closed after this long; also the time a kept-alive client has for its next request's head"
        )
        static let headerTimeoutSeconds = ConfigKey.integer(
            "header_timeout_seconds", in: 1...600, default: 10, reload: .needsRestart,
            "time from connecting (or from the previous answer) to a complete request head; a slower client is disconnected"
        )
        static let bodyTimeoutSeconds = ConfigKey.integer(
            "body_timeout_seconds", in: 1...3600, default: 30, reload: .needsRestart,
            "time from a request's head to the end of its body")
        static let maxConnections = ConfigKey.integer(
            "max_connections", in: 1...1_000_000, default: 1024, reload: .needsRestart,
            "open connections at once; more wait in the kernel's backlog")
        static let trustedProxies = ConfigKey.strings(
            "trusted_proxies", form: "CIDR networks (`\"127.0.0.1/32\"`)", default: [], reload: .needsRestart,
            "peers whose `X-Forwarded-For` names the client (in logs and for the limit below)")
        static let maxFailedVerifications = ConfigKey.integer(
            "max_failed_verifications", in: 1...1_000_000, default: 20, reload: .needsRestart,
            "failed signature checks a client may cause per window before its failing requests are answered 429 (correctly signed ones always pass)"
        )
        static let failedVerificationWindowSeconds = ConfigKey.integer(
            "failed_verification_window_seconds", in: 1...86_400, default: 60, reload: .needsRestart,
            "the window of that limit")
    }

    static let section = ConfigSection(
        name: "server", summary: "The HTTP listener Gigs posts to.",
        keys: [
            Keys.listen, Keys.maxBodyBytes, Keys.maxBodyBytesInFlight, Keys.idleTimeoutSeconds,
            Keys.headerTimeoutSeconds, Keys.bodyTimeoutSeconds, Keys.maxConnections, Keys.trustedProxies,
            Keys.maxFailedVerifications, Keys.failedVerificationWindowSeconds,
        ])

    init(section: TOMLSection) throws(ConfigurationError) {
        listen = try ListenAddress(parsing: try section.read(Keys.listen), key: section.key(Keys.listen))
        maxBodyBytes = try section.read(Keys.maxBodyBytes)
        maxBodyBytesInFlight = try section.read(Keys.maxBodyBytesInFlight)
        guard maxBodyBytesInFlight >= maxBodyBytes else {
            throw ConfigurationError(
                key: section.key(Keys.maxBodyBytesInFlight),
                "must be at least server.max_body_bytes (\(maxBodyBytes)), or no large event could be received")
        }
        idleTimeoutSeconds = try section.read(Keys.idleTimeoutSeconds)
        headerTimeoutSeconds = try section.read(Keys.headerTimeoutSeconds)
        bodyTimeoutSeconds = try section.read(Keys.bodyTimeoutSeconds)
        maxConnections = try section.read(Keys.maxConnections)
        trustedProxies = try section.read(Keys.trustedProxies) { (text, key) throws(ConfigurationError) in
            guard let network = IPNetwork(parsing: text) else {
                throw ConfigurationError(key: key, "must list CIDR networks such as \"127.0.0.1/32\", got \"\(text)\"")
            }
            return network
        }
        maxFailedVerifications = try section.read(Keys.maxFailedVerifications)
        failedVerificationWindowSeconds = try section.read(Keys.failedVerificationWindowSeconds)
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.listen.effective("\(listen)"), Keys.maxBodyBytes.effective(maxBodyBytes),
            Keys.maxBodyBytesInFlight.effective(maxBodyBytesInFlight),
            Keys.idleTimeoutSeconds.effective(idleTimeoutSeconds),
            Keys.headerTimeoutSeconds.effective(headerTimeoutSeconds),
            Keys.bodyTimeoutSeconds.effective(bodyTimeoutSeconds), Keys.maxConnections.effective(maxConnections),
            Keys.trustedProxies.effective(trustedProxies.map(\.description)),
            Keys.maxFailedVerifications.effective(maxFailedVerifications),
            Keys.failedVerificationWindowSeconds.effective(failedVerificationWindowSeconds),
        ]
    }
}
