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

    enum Keys {
        static let kind = ConfigKey.choice(
            "kind", ActionKinds.all.map { $0.kind }, required: true, reload: .applies,
            "what the action does; each kind's own keys are below")
        static let timeoutSeconds = ConfigKey.integer(
            "timeout_seconds", in: 1...3600, default: 10, reload: .applies,
            "how long one attempt may take (below `dispatch.lease_seconds`)")
        static let maxConcurrency = ConfigKey.integer(
            "max_concurrency", in: 1...1024, note: "every worker but one per other action", reload: .applies,
            "attempts of this action at once")
        static let ratePerSecond = ConfigKey.number(
            "rate_per_second", in: 0.001...100_000, note: "unlimited", reload: .applies,
            "attempts per second (a token bucket, per instance)")
        static let rateBurst = ConfigKey.integer(
            "rate_burst", in: 1...100_000, note: "the rate rounded up", reload: .applies,
            "attempts that may go at once after a quiet spell (with `rate_per_second`)")
        static let circuitFailures = ConfigKey.integer(
            "circuit_failures", in: 0...10_000, default: 10, reload: .applies,
            "failed attempts in a row that open the circuit breaker (0: no breaker)")
        static let circuitCooldownSeconds = ConfigKey.integer(
            "circuit_cooldown_seconds", in: 1...86_400, default: 30, reload: .applies,
            "how long an open circuit waits before one probe attempt")
    }

    /// The keys every action has, whatever its kind.
    static let section = ConfigSection(
        name: "actions.NAME",
        summary: "One notifier action; routes name it. NAME holds a–z, 0–9, `-` and `_`. See [actions](actions.md).",
        keys: [
            Keys.kind, Keys.timeoutSeconds, Keys.maxConcurrency, Keys.ratePerSecond, Keys.rateBurst,
            Keys.circuitFailures, Keys.circuitCooldownSeconds,
        ] + OrderingSettings.keys + RetryPolicy.keys(inherited: true))

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
        self.maxConcurrency = try section.value(Keys.maxConcurrency)
        self.timeoutSeconds = try section.read(Keys.timeoutSeconds)
        guard timeoutSeconds < dispatch.leaseSeconds else {
            throw ConfigurationError(
                key: section.key(Keys.timeoutSeconds),
                "must be below dispatch.lease_seconds (\(dispatch.leaseSeconds)), or a running attempt could be claimed twice"
            )
        }
        let burst = try section.value(Keys.rateBurst)
        if let perSecond = try section.value(Keys.ratePerSecond) {
            self.rate = RateLimit(perSecond: perSecond, burst: burst ?? max(1, Int(perSecond.rounded(.up))))
        } else if burst != nil {
            throw ConfigurationError(key: section.key(Keys.rateBurst), "needs rate_per_second")
        }
        let failures = try section.read(Keys.circuitFailures)
        let cooldown = try section.read(Keys.circuitCooldownSeconds)
        self.circuit = failures == 0 ? nil : CircuitBreakerSettings(failures: failures, cooldownSeconds: cooldown)
        self.ordering = try OrderingSettings(section: section)
        let kind = try section.read(Keys.kind)
        guard let settings = ActionKinds.named(kind) else {
            throw ConfigurationError(key: section.key(Keys.kind), "must be \(Keys.kind.type.summary), got \"\(kind)\"")
        }
        self.settings = try settings.init(
            section: section, context: ActionSettingsContext(baseDirectory: baseDirectory, gigs: gigs, smtp: smtp))
        try section.refuseUnknownKeys()
    }

    /// Every key of the action with its effective value, as `config check` prints them.
    var effectiveKeys: [EffectiveKey] {
        [Keys.kind.effective(kindName)] + settings.effectiveKeys + [
            Keys.timeoutSeconds.effective(timeoutSeconds), Keys.maxConcurrency.effective(maxConcurrency),
            Keys.ratePerSecond.effective(rate?.perSecond), Keys.rateBurst.effective(rate?.burst),
            Keys.circuitFailures.effective(circuit?.failures ?? 0),
            Keys.circuitCooldownSeconds.effective(circuit?.cooldownSeconds),
        ] + OrderingSettings.effectiveKeys(ordering) + retry.effectiveKeys
    }
}
