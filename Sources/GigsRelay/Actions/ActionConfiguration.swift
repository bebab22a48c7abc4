import Foundation

/// `[actions.NAME]`: one notifier action and its settings.
public struct ActionConfiguration: Sendable {
    /// The `kind` as written in the file.
    public var kindName: String { type(of: settings).kind }

    /// The table's name, used in routes, the store and metrics.
    public var name: String
    /// What the action does: its kind's own settings.
    var settings: any ActionSettings
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
        let kind = try section.requiredString("kind")
        guard let settings = ActionKinds.named(kind) else {
            let kinds = ActionKinds.all.map { "\"\($0.kind)\"" }
            throw ConfigurationError(
                key: section.key("kind"),
                "must be \(kinds.dropLast().joined(separator: ", ")) or \(kinds.last ?? ""), got \"\(kind)\""
            )
        }
        self.settings = try settings.init(
            section: section, context: ActionSettingsContext(baseDirectory: baseDirectory, gigs: gigs, smtp: smtp))
        try section.refuseUnknownKeys()
    }
}
