import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Watches the daemon's parts and answers whether it is ready: reads the store's counts every
/// ``interval`` through the writer thread (probing with a write as large as the largest event while
/// writes are failing, so a store that recovers is noticed without traffic), feeds metrics and systemd's status line, and keeps
/// the latest picture for `/readyz` and the watchdog.
public final class RelayMonitor: Service, Sendable {
    /// How often the store is read.
    static let interval: Duration = .seconds(2)
    /// A part that has not shown life for this long counts as stuck.
    static let stuckAfterMilliseconds: Int64 = 15_000

    /// The latest reading.
    struct Reading: Sendable {
        var stats: StoreStats?
        /// Ordered subjects a dead delivery holds (of actions where dead ones block).
        var blocked = BlockedSubjects()
        /// When the store's writer last answered, successfully or not (Unix ms); 0 before the first answer.
        var answeredAt: Int64 = 0
    }

    private let store: any EventLog
    private let metrics: RelayMetrics
    private let ready: RelayConfiguration.Ready
    /// How much the recovery probe writes: `server.max_body_bytes`.
    private let probeBytes: Int
    private let dispatcher: Heartbeat
    private let onReading: @Sendable (StoreStats) -> Void
    /// The actions configured now (a reload changes them); nil when not known.
    private let configuredActions: (@Sendable () -> [String: ActionConfiguration])?
    private let logger: Logger
    private let reading = NIOLockedValueBox(Reading())
    private let started = unixMilliseconds()

    /// - Parameters:
    ///   - dispatcher: the dispatcher's claim loop heartbeat.
    ///   - configuredActions: the actions configured now, to report deliveries queued for others.
    ///   - onReading: called after every successful reading (systemd's status line).
    public init(
        store: any EventLog,
        metrics: RelayMetrics,
        ready: RelayConfiguration.Ready,
        probeBytes: Int = 1_048_576,
        dispatcher: Heartbeat,
        configuredActions: (@Sendable () -> [String: ActionConfiguration])? = nil,
        logger: Logger,
        onReading: @escaping @Sendable (StoreStats) -> Void = { _ in }
    ) {
        self.configuredActions = configuredActions
        self.store = store
        self.metrics = metrics
        self.ready = ready
        self.probeBytes = probeBytes
        self.dispatcher = dispatcher
        self.logger = logger
        self.onReading = onReading
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.read()
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// Reads the store's counts once.
    func read() async {
        let failing = store.health.writeFailure != nil
        do {
            let stats = try await store.stats(probeBytes: failing ? probeBytes : nil)
            let now = unixMilliseconds()
            reading.withLockedValue {
                $0.stats = stats
                $0.answeredAt = now
            }
            metrics.update(stats, now: now)
            onReading(stats)
            let blocking = (configuredActions?() ?? [:]).filter { $0.value.ordering?.deadBlocks == true }.keys
            let blocked =
                blocking.isEmpty ? BlockedSubjects() : try await store.blockedSubjects(actions: blocking.sorted())
            reading.withLockedValue { $0.blocked = blocked }
            metrics.update(blocked, now: now)
        } catch {
            // The writer answered, with a failure (a full disk, say): it is alive, and readiness reports
            // the failure through the store's health.
            reading.withLockedValue { $0.answeredAt = unixMilliseconds() }
            logger.warning("Cannot read the store's counts", metadata: [LogKey.error: "\(error)"])
        }
    }

    /// Why the daemon is not ready; empty when it is: the liveness problems, failing writes, and
    /// backlog beyond the `[ready]` thresholds.
    public func notReadyReasons(now: Int64) -> [String] {
        var reasons = livenessProblems(now: now)
        if let failure = store.health.writeFailure {
            reasons.append("store: writes are failing (\(failure))")
        }
        if let stats = reading.withLockedValue({ $0.stats }) {
            if let limit = ready.maxPending, stats.pendingDeliveries > limit {
                reasons.append("backlog: \(stats.pendingDeliveries) deliveries pending (ready.max_pending = \(limit))")
            }
            let age = stats.oldestPendingAgeMilliseconds(now: now) / 1000
            if let limit = ready.maxOldestPendingSeconds, age > limit {
                reasons.append(
                    "backlog: the oldest pending delivery is \(age) s old (ready.max_oldest_pending_seconds = \(limit))"
                )
            }
            if let configured = configuredActions?() {
                let orphaned = stats.queuedActions.filter { configured[$0] == nil }
                if !orphaned.isEmpty {
                    let names = orphaned.prefix(5).joined(separator: ", ") + (orphaned.count > 5 ? ", …" : "")
                    reasons.append(
                        "dispatch: deliveries are queued for actions that are not configured (\(names)); "
                            + "they stay pending until those actions are configured again"
                    )
                }
            }
        }
        let blocked = reading.withLockedValue { $0.blocked }
        if let limit = ready.maxBlockedSeconds, let since = blocked.oldestSince, (now - since) / 1000 > limit {
            reasons.append(
                "dispatch: \(blocked.count) ordered subject\(blocked.count == 1 ? " is" : "s are") held by a dead delivery, "
                    + "the oldest for \((now - since) / 1000) s (ready.max_blocked_seconds = \(limit)); "
                    + "see gigs-relay deliveries list --status blocked, then retry or skip"
            )
        }
        return reasons
    }

    /// Parts that are stuck: the store's writer thread not answering, or the dispatcher's loop not
    /// turning. These stop the systemd watchdog pings; failing writes and backlog do not (a restart
    /// would not cure them).
    public func livenessProblems(now: Int64) -> [String] {
        var reasons: [String] = []
        let reading = reading.withLockedValue { $0 }
        let storeSilence = now - (reading.answeredAt == 0 ? started : reading.answeredAt)
        if storeSilence > Self.stuckAfterMilliseconds {
            reasons.append("store: the writer has not answered for \(storeSilence / 1000) s")
        }
        switch dispatcher.age(now: now) {
        case nil: reasons.append("dispatcher: not running")
        case let age? where age > Self.stuckAfterMilliseconds:
            reasons.append("dispatcher: no progress for \(age / 1000) s")
        default: break
        }
        return reasons
    }

    /// The latest counts, if the store has answered.
    public var stats: StoreStats? { reading.withLockedValue { $0.stats } }
}
