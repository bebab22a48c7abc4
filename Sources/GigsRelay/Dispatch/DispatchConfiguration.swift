/// `[dispatch]`: the workers that carry stored events to their actions.
public struct DispatchConfiguration: Sendable {
    /// Deliveries attempted at once.
    public var workers: Int
    /// How long a claimed delivery stays claimed; after a crash it is claimed again once its lease has
    /// expired. Must exceed every action's timeout.
    public var leaseSeconds: Int
    /// How long running attempts may finish at shutdown before they are interrupted and released.
    public var shutdownGraceSeconds: Int
    /// Retry defaults every action inherits.
    public var retry: RetryPolicy
}

extension DispatchConfiguration {
    enum Keys {
        static let workers = ConfigKey.integer(
            "workers", in: 1...64, default: 8, reload: .needsRestart, "deliveries attempted at once")
        static let leaseSeconds = ConfigKey.integer(
            "lease_seconds", in: 2...86_400, default: 60, reload: .needsRestart,
            "a claimed delivery's lease; after a crash it is claimed again once this expires (above every action's `timeout_seconds`)"
        )
        static let shutdownGraceSeconds = ConfigKey.integer(
            "shutdown_grace_seconds", in: 0...3600, default: 10, reload: .needsRestart,
            "how long running attempts may finish at shutdown before they are interrupted and released")
    }

    static let section = ConfigSection(
        name: "dispatch",
        summary: "The workers that carry stored events to their actions, and the retry defaults every action inherits.",
        keys: [Keys.workers, Keys.leaseSeconds, Keys.shutdownGraceSeconds] + RetryPolicy.keys(inherited: false))

    init(section: TOMLSection) throws(ConfigurationError) {
        workers = try section.read(Keys.workers)
        leaseSeconds = try section.read(Keys.leaseSeconds)
        shutdownGraceSeconds = try section.read(Keys.shutdownGraceSeconds)
        retry = try RetryPolicy(section: section)
    }

    var effectiveKeys: [EffectiveKey] {
        [
            Keys.workers.effective(workers), Keys.leaseSeconds.effective(leaseSeconds),
            Keys.shutdownGraceSeconds.effective(shutdownGraceSeconds),
        ] + retry.effectiveKeys
    }
}
