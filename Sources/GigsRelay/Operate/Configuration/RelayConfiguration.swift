import Foundation
import Logging
import TOMLKit

/// The daemon's settings, parsed and validated from a TOML file.
///
/// Every key, its default and its meaning is documented in `config/gigs-relay.example.toml`. Unknown
/// sections and keys are refused, so a typo fails at start-up instead of being silently ignored.
public struct RelayConfiguration: Sendable {
    /// `[server]`: the HTTP listener.
    public struct Server: Sendable {
        /// `server.listen`: `HOST:PORT` or `unix:/path.sock`.
        public var listen: ListenAddress = .tcp(host: "127.0.0.1", port: 8080)
        /// `server.max_body_bytes`: larger bodies are answered 413 without being read.
        public var maxBodyBytes: Int = 1_048_576
        /// `server.max_body_bytes_in_flight`: request body bytes held at once by all requests together;
        /// past it, a request is answered 503 before its body is read.
        public var maxBodyBytesInFlight: Int = 64 * 1_048_576
        /// `server.idle_timeout_seconds`: an idle or stalled connection is closed after this long.
        public var idleTimeoutSeconds: Int = 30
        /// `server.header_timeout_seconds`: time a client has to send a request's head (from connecting, or
        /// from the previous answer); a slower client is disconnected.
        public var headerTimeoutSeconds: Int = 10
        /// `server.body_timeout_seconds`: time a client has to send a request's whole body after its head.
        public var bodyTimeoutSeconds: Int = 30
        /// `server.max_connections`: open connections at once; more wait in the kernel's backlog.
        public var maxConnections: Int = 1024
        /// `server.trusted_proxies`: peers (CIDR) whose `X-Forwarded-For` names the client.
        public var trustedProxies: [IPNetwork] = []
        /// `server.max_failed_verifications`: failed signature checks a client may cause per window before
        /// its requests are answered 429.
        public var maxFailedVerifications: Int = 20
        /// `server.failed_verification_window_seconds`: the window of that limit.
        public var failedVerificationWindowSeconds: Int = 60
    }

    /// `[store]`: the event log: a SQLite file (`path`, the default) or a PostgreSQL database (`url`).
    public struct Store: Sendable {
        /// `store.path`: the SQLite file; relative paths start at the working directory.
        public var path: String = "var/gigs-relay.sqlite3"
        /// `store.url`: a PostgreSQL database instead of `path`, shared by every instance that names it.
        public var url: PostgresURL?
        /// `store.password`: a secret reference to the PostgreSQL password (with `url` only).
        public var password: SecretReference?
        /// `store.pool_size`: connections to PostgreSQL each instance keeps at most.
        public var poolSize: Int = 8
        /// `store.retention_days`: events older than this whose deliveries all succeeded or were skipped
        /// are removed in the background; 0 keeps everything.
        public var retentionDays: Int = 30
    }

    /// `[webhook]`: what a genuine Gigs delivery looks like.
    public struct Webhook: Sendable {
        /// `webhook.path`: the URL path Gigs posts to.
        public var path: String = "/webhooks/gigs"
        /// `webhook.tolerance_seconds`: accepted distance of `webhook-timestamp` from now, both ways.
        public var toleranceSeconds: Int = 300
        /// `webhook.secrets`: one or more signing secrets (several while rotating).
        public var secrets: [SecretReference] = []
    }

    /// `[admin]`: where health and metrics are served.
    public struct Admin: Sendable {
        /// `admin.listen`: a separate listener for `/healthz`, `/readyz` and `/metrics`; when unset they
        /// are served on `server.listen` beside the webhook.
        public var listen: ListenAddress?
        /// `admin.token`: the secret reference of the operator API's bearer token; required when the admin
        /// listener is not loopback.
        public var token: SecretReference?
        /// `admin.redact`: JSON pointers of payload fields the operator API masks.
        public var redact: [JSONPointer] = []
    }

    /// `[ready]`: backlog thresholds beyond which `/readyz` answers 503 (none by default: a slow
    /// downstream should not stop ingest).
    public struct Ready: Sendable {
        /// `ready.max_pending`: unfinished deliveries allowed.
        public var maxPending: Int?
        /// `ready.max_oldest_pending_seconds`: age the oldest unfinished delivery may reach.
        public var maxOldestPendingSeconds: Int?
        /// `ready.max_blocked_seconds`: how long a dead delivery may hold an ordered subject with others
        /// waiting behind it (default 3600; 0 turns the check off).
        public var maxBlockedSeconds: Int? = 3600
    }

    /// `[log]`: logging.
    public struct Log: Sendable {
        /// `log.level`: trace, debug, info, notice, warning, error or critical.
        public var level: Logger.Level = .info
        /// `log.format`: `text` (one line per record; with syslog priorities under journald) or `json`.
        public var format: RelayLogHandler.Format = .text
    }

    public var server = Server()
    public var store = Store()
    public var webhook = Webhook()
    public var log = Log()
    public var admin = Admin()
    public var ready = Ready()
    /// `[dispatch]`: workers, leases and retry defaults.
    public var dispatch = DispatchConfiguration()
    /// `[[routes]]`: event types to action names.
    public var routes: [RouteConfiguration] = []
    /// `[actions.NAME]`: the notifier actions, by name.
    public var actions: [String: ActionConfiguration] = [:]
    /// `[gigs]`: the Gigs REST API, for actions that look things up; nil when the section is absent.
    public var gigs: GigsAPIConfiguration?
    /// `[smtp]`: the mail server for email actions; nil when the section is absent.
    public var smtp: SMTPConfiguration?

    /// A configuration with every default and the given secrets (for tests and embedding).
    public init(secrets: [SecretReference]) {
        self.webhook.secrets = secrets
    }

    /// Reads and validates a TOML configuration file.
    public static func load(path: String) throws(ConfigurationError) -> RelayConfiguration {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigurationError(key: "", "cannot read configuration file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigurationError(key: "", "configuration file \(path) is not UTF-8 text")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        return try RelayConfiguration(toml: text, baseDirectory: folder)
    }

    /// Parses and validates TOML text; the error names the first key at fault.
    ///
    /// - Parameter baseDirectory: where relative template folders start (the configuration file's folder).
    public init(toml text: String, baseDirectory: String = ".") throws(ConfigurationError) {
        let root: TOMLTable
        do {
            root = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationError(key: "", "invalid TOML: \(error.description) (\(error.source.debugDescription))")
        } catch {
            throw ConfigurationError(key: "", "invalid TOML")
        }
        let file = try TOMLSectionReader(root: root)

        let server = try file.section("server")
        if let listen = try server.string("listen") {
            self.server.listen = try ListenAddress(parsing: listen, key: server.key("listen"))
        }
        if let bytes = try server.integer("max_body_bytes", in: 1024...(256 * 1_048_576)) {
            self.server.maxBodyBytes = bytes
        }
        if let bytes = try server.integer("max_body_bytes_in_flight", in: 1024...(64 * 1024 * 1_048_576)) {
            self.server.maxBodyBytesInFlight = bytes
        }
        guard self.server.maxBodyBytesInFlight >= self.server.maxBodyBytes else {
            throw ConfigurationError(
                key: server.key("max_body_bytes_in_flight"),
                "must be at least server.max_body_bytes (\(self.server.maxBodyBytes)), or no large event could be received"
            )
        }
        if let seconds = try server.integer("idle_timeout_seconds", in: 1...3600) {
            self.server.idleTimeoutSeconds = seconds
        }
        if let seconds = try server.integer("header_timeout_seconds", in: 1...600) {
            self.server.headerTimeoutSeconds = seconds
        }
        if let seconds = try server.integer("body_timeout_seconds", in: 1...3600) {
            self.server.bodyTimeoutSeconds = seconds
        }
        if let count = try server.integer("max_connections", in: 1...1_000_000) { self.server.maxConnections = count }
        self.server.trustedProxies = try (server.strings("trusted_proxies") ?? []).map {
            (text) throws(ConfigurationError) in
            guard let network = IPNetwork(parsing: text) else {
                throw ConfigurationError(
                    key: server.key("trusted_proxies"),
                    "must list CIDR networks such as \"127.0.0.1/32\", got \"\(text)\"")
            }
            return network
        }
        if let count = try server.integer("max_failed_verifications", in: 1...1_000_000) {
            self.server.maxFailedVerifications = count
        }
        if let seconds = try server.integer("failed_verification_window_seconds", in: 1...86_400) {
            self.server.failedVerificationWindowSeconds = seconds
        }
        try server.refuseUnknownKeys()

        let store = try file.section("store")
        let path = try store.string("path")
        if let path {
            guard !path.isEmpty else { throw ConfigurationError(key: store.key("path"), "must not be empty") }
            self.store.path = path
        }
        if let url = try store.string("url") {
            guard path == nil else {
                throw ConfigurationError(key: store.key("url"), "give exactly one of store.path and store.url")
            }
            self.store.url = try PostgresURL(parsing: url, key: store.key("url"))
        }
        self.store.password = try store.string("password").map { (text) throws(ConfigurationError) in
            guard self.store.url != nil else {
                throw ConfigurationError(key: store.key("password"), "is for store.url (PostgreSQL) only")
            }
            return try SecretReference(parsing: text, key: store.key("password"))
        }
        if let size = try store.integer("pool_size", in: 2...200) {
            guard self.store.url != nil else {
                throw ConfigurationError(key: store.key("pool_size"), "is for store.url (PostgreSQL) only")
            }
            self.store.poolSize = size
        }
        if let days = try store.integer("retention_days", in: 0...36_500) { self.store.retentionDays = days }
        try store.refuseUnknownKeys()

        let webhook = try file.section("webhook")
        if let path = try webhook.string("path") {
            guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#"), path != "/healthz" else {
                throw ConfigurationError(
                    key: webhook.key("path"), "must be a URL path starting with / (not /healthz), got \"\(path)\"")
            }
            self.webhook.path = path
        }
        if let seconds = try webhook.integer("tolerance_seconds", in: 1...86_400) {
            self.webhook.toleranceSeconds = seconds
        }
        let secrets = try webhook.strings("secrets") ?? []
        guard !secrets.isEmpty else {
            throw ConfigurationError(
                key: webhook.key("secrets"),
                "at least one signing secret reference is required, e.g. [\"env:GIGS_WEBHOOK_SECRET\"]"
            )
        }
        self.webhook.secrets = try secrets.enumerated().map { (index, text) throws(ConfigurationError) in
            try SecretReference(parsing: text, key: webhook.key("secrets[\(index)]"))
        }
        try webhook.refuseUnknownKeys()

        let log = try file.section("log")
        if let level = try log.string("level") {
            guard let parsed = Logger.Level(rawValue: level) else {
                let levels = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError(key: log.key("level"), "must be one of \(levels), got \"\(level)\"")
            }
            self.log.level = parsed
        }
        if let format = try log.string("format") {
            guard let parsed = RelayLogHandler.Format(rawValue: format) else {
                throw ConfigurationError(key: log.key("format"), "must be \"text\" or \"json\", got \"\(format)\"")
            }
            self.log.format = parsed
        }
        try log.refuseUnknownKeys()

        let admin = try file.section("admin")
        if let listen = try admin.string("listen") {
            self.admin.listen = try ListenAddress(parsing: listen, key: admin.key("listen"))
        }
        if let token = try admin.string("token") {
            self.admin.token = try SecretReference(parsing: token, key: admin.key("token"))
        }
        self.admin.redact = try (admin.strings("redact") ?? []).map { (text) throws(ConfigurationError) in
            try JSONPointer(parsing: text, key: admin.key("redact"))
        }
        try admin.refuseUnknownKeys()
        let adminListener = self.admin.listen ?? self.server.listen
        if self.admin.token == nil, !adminListener.isLocal {
            throw ConfigurationError(
                key: admin.key("token"),
                "is required: the operator API is served on \(adminListener), which is not loopback "
                    + "(set admin.token = \"credential:admin-token\", or admin.listen = \"127.0.0.1:9464\")")
        }
        let ready = try file.section("ready")
        self.ready.maxPending = try ready.integer("max_pending", in: 0...1_000_000_000)
        self.ready.maxOldestPendingSeconds = try ready.integer("max_oldest_pending_seconds", in: 1...31_536_000)
        if let blocked = try ready.integer("max_blocked_seconds", in: 0...31_536_000) {
            self.ready.maxBlockedSeconds = blocked == 0 ? nil : blocked
        }
        try ready.refuseUnknownKeys()

        try parseDispatch(file, baseDirectory: baseDirectory)
        try file.refuseUnknownSections(known: [
            "server", "store", "webhook", "log", "dispatch", "routes", "actions", "gigs", "smtp", "admin", "ready",
        ])
    }

    private mutating func parseDispatch(_ file: TOMLSectionReader, baseDirectory: String) throws(ConfigurationError) {
        let dispatch = try file.section("dispatch")
        if let workers = try dispatch.integer("workers", in: 1...64) { self.dispatch.workers = workers }
        if let lease = try dispatch.integer("lease_seconds", in: 2...86_400) { self.dispatch.leaseSeconds = lease }
        if let grace = try dispatch.integer("shutdown_grace_seconds", in: 0...3600) {
            self.dispatch.shutdownGraceSeconds = grace
        }
        self.dispatch.retry = try RetryPolicy().overridden(by: dispatch)
        try dispatch.refuseUnknownKeys()

        let gigsSection = try file.section("gigs")
        if !gigsSection.isEmpty {
            gigs = try GigsAPIConfiguration(section: gigsSection)
            try gigsSection.refuseUnknownKeys()
        }
        let smtpSection = try file.section("smtp")
        if !smtpSection.isEmpty {
            smtp = try SMTPConfiguration(section: smtpSection)
        }
        for (name, section) in try file.namedSections("actions") {
            actions[name] = try ActionConfiguration(
                name: name, section: section, dispatch: self.dispatch, gigs: gigs, smtp: smtp,
                baseDirectory: baseDirectory)
        }
        for section in try file.sections("routes") {
            let patterns = try section.strings("events") ?? []
            guard !patterns.isEmpty else {
                throw ConfigurationError(key: section.key("events"), "must list at least one event type or pattern")
            }
            let events = try patterns.map { (text) throws(ConfigurationError) in
                try EventTypePattern(parsing: text, key: section.key("events"))
            }
            let names = try section.strings("actions") ?? []
            guard !names.isEmpty else {
                throw ConfigurationError(key: section.key("actions"), "must list at least one action")
            }
            for name in names where actions[name] == nil {
                let known = actions.keys.sorted().joined(separator: ", ")
                throw ConfigurationError(
                    key: section.key("actions"),
                    "unknown action \"\(name)\"; configured actions: \(known.isEmpty ? "none" : known)"
                )
            }
            var filters: [PayloadFilter] = []
            for (pointer, values) in try section.scalarTable("where") ?? [] {
                filters.append(
                    PayloadFilter(pointer: try JSONPointer(parsing: pointer, key: section.key("where")), values: values)
                )
            }
            try section.refuseUnknownKeys()
            routes.append(RouteConfiguration(events: events, actions: names, filters: filters))
        }
    }

    /// Reads every configured webhook secret.
    ///
    /// - Parameter environment: the process environment, used for `env:` and `credential:` references.
    public func resolveWebhookSecrets(environment: [String: String]) throws(ConfigurationError) -> [WebhookSecret] {
        try webhook.secrets.enumerated().map { (index, reference) throws(ConfigurationError) in
            let key = "webhook.secrets[\(index)]"
            let value = try reference.resolve(key: key, environment: environment)
            do {
                return try WebhookSecret(encoded: value)
            } catch {
                throw ConfigurationError(
                    key: key,
                    "\(reference) is not a signing secret: expected \"whsec_\" followed by base64"
                )
            }
        }
    }
}
