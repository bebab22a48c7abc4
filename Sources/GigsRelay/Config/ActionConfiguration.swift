import Foundation

/// A token bucket: `perSecond` tokens a second, at most `burst` saved up.
public struct RateLimit: Sendable, Equatable {
    public let perSecond: Double
    public let burst: Int
}

/// A circuit breaker: open after `failures` failed attempts in a row, probe after `cooldownSeconds`.
public struct CircuitBreakerSettings: Sendable, Equatable {
    public let failures: Int
    public let cooldownSeconds: Int
}

/// Ordered delivery per subject: deliveries that share a subject go one at a time, in event `time`
/// order, then arrival order.
public struct OrderingSettings: Sendable, Equatable {
    /// The default subject: the subscription of `subscriptionChange.*` events, else the resource in `data`
    /// (a subscription, a group, …); see GIGS.md.
    public static let defaultSubject = ["/data/subscription", "/data/id"]

    /// `subject`: JSON pointers; the first that leads to a string or number is the subject.
    public var subject: [JSONPointer]
    /// `reorder_window_ms`: how long a new ordered delivery waits, so a late arrival still sorts first.
    public var reorderWindowMilliseconds: Int
    /// `on_dead = "block"` (the default): a dead delivery holds its subject until retried or skipped;
    /// `"continue"`: the next one goes.
    public var deadBlocks: Bool

    init?(section: TOMLSection) throws(ConfigurationError) {
        let mode = try section.string("ordering") ?? "none"
        let pointers = try section.strings("subject")
        let window = try section.integer("reorder_window_ms", in: 0...60_000)
        let onDead = try section.string("on_dead")
        switch mode {
        case "none":
            for (key, set) in [
                ("subject", pointers != nil), ("reorder_window_ms", window != nil), ("on_dead", onDead != nil),
            ]
            where set {
                throw ConfigurationError(key: section.key(key), "needs ordering = \"subject\"")
            }
            return nil
        case "subject": break
        default:
            throw ConfigurationError(key: section.key("ordering"), "must be \"none\" or \"subject\", got \"\(mode)\"")
        }
        let texts = pointers ?? Self.defaultSubject
        guard !texts.isEmpty else {
            throw ConfigurationError(key: section.key("subject"), "must list at least one JSON pointer")
        }
        subject = try texts.map { (text) throws(ConfigurationError) in
            try JSONPointer(parsing: text, key: section.key("subject"))
        }
        reorderWindowMilliseconds = window ?? 2000
        switch onDead ?? "block" {
        case "block": deadBlocks = true
        case "continue": deadBlocks = false
        case let other:
            throw ConfigurationError(key: section.key("on_dead"), "must be \"block\" or \"continue\", got \"\(other)\"")
        }
    }

    /// Subjects are kept to this many bytes, the longest id ingest accepts (ids are far shorter; a
    /// longer value is cut, not refused).
    static let maxSubjectBytes = EventEnvelope.maxFieldBytes

    /// Whether `subject` is the default (`data.subscription`, else `data.id`), which ingest has already
    /// read from the envelope as ``VerifiedEvent/subject``.
    public var isDefaultSubject: Bool { subject.map(\.description) == Self.defaultSubject }

    /// The subject of an event: with the default pointers, the one the envelope gave (no second read of
    /// the payload) when it has one; else the first pointer that leads to a string or a number.
    public func subject(of event: VerifiedEvent) -> String? {
        if isDefaultSubject, let subject = event.subject { return subject }
        return subject(in: event.body)
    }

    /// The subject of an event's payload: the first pointer that leads to a string or a number.
    public func subject(in body: [UInt8]) -> String? {
        let values = PayloadProbe(subject).values(in: body)
        for pointer in subject {
            switch values[pointer] {
            case .string(let text)? where !text.isEmpty:
                guard text.utf8.count > Self.maxSubjectBytes else { return text }
                return String(decoding: text.utf8.prefix(Self.maxSubjectBytes), as: UTF8.self)
            case .number?: return values[pointer]?.description
            default: continue
            }
        }
        return nil
    }
}

/// `[actions.NAME]`: one notifier action and its settings.
public struct ActionConfiguration: Sendable {
    /// What the action does.
    public enum Kind: Sendable {
        /// `kind = "http"`: POST the raw event, signed with Standard Webhooks headers.
        case http(HTTPActionSettings)
        /// `kind = "exec"`: run a command with the raw event on standard input.
        case exec(ExecActionSettings)
        /// `kind = "email"`: a templated email to fixed addresses.
        case email(EmailActionSettings)
        /// `kind = "esim-install-links"`: fetch a subscription's eSIM credentials and deliver the links.
        case esimInstallLinks(InstallLinksSettings)
    }

    /// The `kind` as written in the file.
    public var kindName: String {
        switch kind {
        case .http: "http"
        case .exec: "exec"
        case .email: "email"
        case .esimInstallLinks: "esim-install-links"
        }
    }

    /// The table's name, used in routes, the store and metrics.
    public var name: String
    public var kind: Kind
    /// Retry keys, inherited from `[dispatch]` unless overridden here.
    public var retry: RetryPolicy
    /// `max_concurrency`: attempts of this action at once (unlimited beyond `dispatch.workers` when unset).
    public var maxConcurrency: Int?
    /// `timeout_seconds`: how long one attempt may take.
    public var timeoutSeconds: Int
    /// `rate_per_second` and `rate_burst`: a token bucket for attempts of this action (per instance); nil
    /// when unlimited.
    public var rate: RateLimit?
    /// `circuit_failures` and `circuit_cooldown_seconds`: the circuit breaker; nil when
    /// `circuit_failures = 0`.
    public var circuit: CircuitBreakerSettings?
    /// `ordering = "subject"` with `subject`, `reorder_window_ms` and `on_dead`; nil for `"none"`.
    public var ordering: OrderingSettings?

    /// Action names: lower-case letters, digits, `-` and `_`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64
            && name.unicodeScalars.allSatisfy {
                ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
            }
    }

    init(
        name: String,
        section: TOMLSection,
        dispatch: DispatchConfiguration,
        gigs: GigsAPIConfiguration?,
        smtp: SMTPConfiguration?,
        baseDirectory: String
    ) throws(ConfigurationError) {
        guard Self.isValidName(name) else {
            throw ConfigurationError(key: section.name, "action names may hold a–z, 0–9, - and _ (at most 64)")
        }
        self.name = name
        self.retry = try dispatch.retry.overridden(by: section)
        self.maxConcurrency = try section.integer("max_concurrency", in: 1...1024)
        self.timeoutSeconds = try section.integer("timeout_seconds", in: 1...3600) ?? 10
        guard timeoutSeconds < dispatch.leaseSeconds else {
            throw ConfigurationError(
                key: section.key("timeout_seconds"),
                "must be below dispatch.lease_seconds (\(dispatch.leaseSeconds)), or a running attempt could be claimed twice"
            )
        }
        if let perSecond = try section.number("rate_per_second", in: 0.001...100_000) {
            let burst = try section.integer("rate_burst", in: 1...100_000) ?? max(1, Int(perSecond.rounded(.up)))
            self.rate = RateLimit(perSecond: perSecond, burst: burst)
        } else if try section.integer("rate_burst", in: 1...100_000) != nil {
            throw ConfigurationError(key: section.key("rate_burst"), "needs rate_per_second")
        }
        let failures = try section.integer("circuit_failures", in: 0...10_000) ?? 10
        let cooldown = try section.integer("circuit_cooldown_seconds", in: 1...86_400) ?? 30
        self.circuit = failures == 0 ? nil : CircuitBreakerSettings(failures: failures, cooldownSeconds: cooldown)
        self.ordering = try OrderingSettings(section: section)
        switch try section.requiredString("kind") {
        case "http": self.kind = .http(try HTTPActionSettings(section: section))
        case "exec": self.kind = .exec(try ExecActionSettings(section: section))
        case "email":
            guard smtp != nil else {
                throw ConfigurationError(key: section.key("kind"), "email needs an [smtp] section (host, from, …)")
            }
            self.kind = .email(try EmailActionSettings(section: section, baseDirectory: baseDirectory))
        case "esim-install-links":
            guard gigs != nil else {
                throw ConfigurationError(
                    key: section.key("kind"), "esim-install-links needs a [gigs] section (api_url, project, token)")
            }
            let settings = try InstallLinksSettings(section: section, baseDirectory: baseDirectory)
            if case .email = settings.channel, smtp == nil {
                throw ConfigurationError(
                    key: section.key("channel"), "\"email\" needs an [smtp] section (host, from, …)")
            }
            self.kind = .esimInstallLinks(settings)
        case let other:
            throw ConfigurationError(
                key: section.key("kind"),
                "must be \"http\", \"exec\", \"email\" or \"esim-install-links\", got \"\(other)\""
            )
        }
        try section.refuseUnknownKeys()
    }
}

/// Settings of a `kind = "http"` action.
public struct HTTPActionSettings: Sendable {
    /// `url`: where to POST; https, or plain http to a loopback host unless `allow_insecure`.
    public var url: URL
    /// `secret`: a reference to the `whsec_…` secret the requests are signed with.
    public var secret: SecretReference
    /// `headers`: extra request headers; a value may be a secret reference.
    public var headers: [String: HeaderValue]

    /// Headers whose value is a credential: only a secret reference is accepted for them.
    static let credentialHeaders: Set<String> = ["authorization", "proxy-authorization", "cookie"]

    init(section: TOMLSection) throws(ConfigurationError) {
        self.url = try Self.url(section: section, key: "url")
        self.secret = try SecretReference(parsing: try section.requiredString("secret"), key: section.key("secret"))
        var headers: [String: HeaderValue] = [:]
        for (name, text) in try section.stringTable("headers") ?? [:] {
            let key = section.key("headers.\(name)")
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw ConfigurationError(key: key, "is not a valid header name")
            }
            let value = try HeaderValue(parsing: text, key: key)
            if case .literal = value, Self.credentialHeaders.contains(name.lowercased()) {
                // Reuse the reference parser's message: a credential never sits in the file.
                _ = try SecretReference(parsing: text, key: key)
            }
            headers[name] = value
        }
        self.headers = headers
    }

    /// Reads an https URL, or an http one to loopback (or anywhere with `allow_insecure = true`).
    static func url(section: TOMLSection, key: String) throws(ConfigurationError) -> URL {
        let text = try section.requiredString(key)
        let allowInsecure = try section.bool("allow_insecure") ?? false
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty
        else {
            throw ConfigurationError(key: section.key(key), "must be an absolute http(s) URL, got \"\(text)\"")
        }
        switch scheme {
        case "https": return url
        case "http" where allowInsecure || IPNetwork.isLoopback(host: host): return url
        case "http":
            throw ConfigurationError(
                key: section.key(key),
                "plain http is allowed only to loopback hosts; use https or set allow_insecure = true"
            )
        default:
            throw ConfigurationError(key: section.key(key), "must be an http or https URL, got \"\(text)\"")
        }
    }
}

/// A configured header value: text, or a secret reference (`env:`, `file:`, `credential:`) read at start
/// and at reload, so tokens for a downstream (`Authorization = "credential:backend-token"`) stay out of
/// the file. The effective configuration prints references, never their values.
public enum HeaderValue: Sendable, Equatable, CustomStringConvertible {
    case literal(String)
    case secret(SecretReference)

    /// Reads a value that starts with `env:`, `file:` or `credential:` as a reference, anything else as text.
    init(parsing text: String, key: String) throws(ConfigurationError) {
        let schemes = ["env:", "file:", "credential:"]
        self =
            schemes.contains(where: text.hasPrefix)
            ? .secret(try SecretReference(parsing: text, key: key)) : .literal(text)
    }

    /// The header's value, reading a referenced secret.
    func resolve(key: String, environment: [String: String]) throws(ConfigurationError) -> String {
        switch self {
        case .literal(let text): text
        case .secret(let reference): try reference.resolve(key: key, environment: environment)
        }
    }

    public var description: String {
        switch self {
        case .literal(let text): text
        case .secret(let reference): reference.description
        }
    }
}

/// Settings of a `kind = "exec"` action.
public struct ExecActionSettings: Sendable {
    /// `command`: the program (an absolute path) and its arguments; no shell is involved.
    public var command: [String]

    init(section: TOMLSection) throws(ConfigurationError) {
        let command = try section.strings("command") ?? []
        guard let program = command.first, program.hasPrefix("/") else {
            throw ConfigurationError(
                key: section.key("command"),
                "must be [\"/absolute/path\", \"arg\", …] (no shell is used)"
            )
        }
        _ = program
        self.command = command
    }
}

/// Settings of a `kind = "email"` action.
public struct EmailActionSettings: Sendable {
    /// `to`: the fixed recipients, e.g. `["Ops <ops@example.com>"]`.
    public var to: [MailAddress]
    /// `templates`: the folder of `TYPE.subject/.text/.html.mustache` files (`default.*` for any other
    /// type) that override the built-in ones; relative to the configuration file's folder. Default
    /// `templates/email`, which may be missing.
    public var templates: String
    /// Whether the file names `templates` (then the folder must exist).
    public var templatesSet: Bool

    init(section: TOMLSection, baseDirectory: String) throws(ConfigurationError) {
        let to = try section.strings("to") ?? []
        guard !to.isEmpty else {
            throw ConfigurationError(key: section.key("to"), "must list at least one address")
        }
        self.to = try to.map { (text) throws(ConfigurationError) in
            guard let address = MailAddress(parsing: text) else {
                throw ConfigurationError(key: section.key("to"), "\"\(text)\" is not an email address")
            }
            return address
        }
        (self.templates, self.templatesSet) = try templateFolder(
            section: section, baseDirectory: baseDirectory, default: "templates/email")
    }
}

/// Settings of a `kind = "esim-install-links"` action.
public struct InstallLinksSettings: Sendable {
    /// Where the links go.
    public enum Channel: Sendable {
        /// `channel = "http"`: a signed JSON POST to `url`.
        case http(url: URL, secret: SecretReference)
        /// `channel = "email"`: an email to the user, from the locale's templates in `templates`.
        case email(templates: String, defaultLocale: String)
    }

    public var channel: Channel
    /// Whether the file names `templates` (then the folder must exist).
    public var templatesSet = false

    init(section: TOMLSection, baseDirectory: String) throws(ConfigurationError) {
        switch try section.requiredString("channel") {
        case "http":
            let url = try HTTPActionSettings.url(section: section, key: "url")
            let secret = try SecretReference(parsing: try section.requiredString("secret"), key: section.key("secret"))
            self.channel = .http(url: url, secret: secret)
        case "email":
            let (templates, set) = try templateFolder(
                section: section, baseDirectory: baseDirectory, default: "templates/install-links")
            self.templatesSet = set
            let locale = try section.string("default_locale") ?? "en"
            guard !locale.isEmpty, locale.allSatisfy({ $0.isASCII && ($0.isLetter || $0 == "-") }) else {
                throw ConfigurationError(key: section.key("default_locale"), "must be a locale such as \"en\"")
            }
            self.channel = .email(templates: templates, defaultLocale: locale)
        case let other:
            throw ConfigurationError(key: section.key("channel"), "must be \"email\" or \"http\", got \"\(other)\"")
        }
    }
}

/// The `templates` key: a folder, relative to the configuration file's folder unless absolute, and
/// whether the file set it.
private func templateFolder(
    section: TOMLSection,
    baseDirectory: String,
    default folder: String
) throws(ConfigurationError) -> (path: String, set: Bool) {
    let set = try section.string("templates")
    let path = set ?? folder
    guard !path.isEmpty else { throw ConfigurationError(key: section.key("templates"), "must not be empty") }
    return (
        path.hasPrefix("/") ? path : URL(fileURLWithPath: baseDirectory).appendingPathComponent(path).path, set != nil
    )
}
