extension RelayConfiguration {
    /// `[ready]`: backlog thresholds beyond which `/readyz` answers 503 (only the blocked-subject one by
    /// default: a slow downstream should not stop ingest).
    public struct Ready: Sendable {
        public var maxPending: Int?
        public var maxOldestPendingSeconds: Int?
        /// nil: the check is off (`max_blocked_seconds = 0`).
        public var maxBlockedSeconds: Int?
    }
}

extension RelayConfiguration.Ready {
    enum Keys {
        static let maxPending = ConfigKey.integer(
            "max_pending", in: 0...1_000_000_000, reload: .needsRestart,
            "`/readyz` answers 503 when more deliveries are unfinished")
        static let maxOldestPendingSeconds = ConfigKey.integer(
            "max_oldest_pending_seconds", in: 1...31_536_000, reload: .needsRestart,
            "…or when the oldest unfinished delivery is older")
        static let maxBlockedSeconds = ConfigKey.integer(
            "max_blocked_seconds", in: 0...31_536_000, default: 3600, reload: .needsRestart,
            "…or when a dead delivery has held an ordered subject, with others waiting behind it, this long (0: never)")
    }

    static let section = ConfigSection(
        name: "ready", summary: "When `/readyz` says the backlog is too large. See [monitoring](monitoring.md).",
        keys: [Keys.maxPending, Keys.maxOldestPendingSeconds, Keys.maxBlockedSeconds])

    init(section: TOMLSection) throws(ConfigurationError) {
        maxPending = try section.value(Keys.maxPending)
        maxOldestPendingSeconds = try section.value(Keys.maxOldestPendingSeconds)
        let blocked = try section.read(Keys.maxBlockedSeconds)
        maxBlockedSeconds = blocked == 0 ? nil : blocked
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.maxPending.effective(maxPending), Keys.maxOldestPendingSeconds.effective(maxOldestPendingSeconds),
            Keys.maxBlockedSeconds.effective(maxBlockedSeconds ?? 0),
        ]
    }
}
