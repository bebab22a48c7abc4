import Logging
import ServiceLifecycle

/// Removes events older than `store.retention_days` whose deliveries all succeeded or were skipped, in
/// batches of ``batch`` through the writer thread, every ``interval`` (the first run a minute after
/// start). Events with unfinished or dead deliveries are kept: they still need an operator.
struct RetentionService: Service {
    static let interval: Duration = .seconds(600)
    static let batch = 500

    let store: any EventLog
    let retentionDays: Int
    /// Where "older than" is measured from.
    var clock: any RelayClock = SystemClock()
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            try? await Task.sleep(for: .seconds(60))
            while !Task.isCancelled {
                await prune()
                try? await Task.sleep(for: Self.interval)
            }
        }
    }

    /// One pass: batches until one comes back short, yielding to other writes between batches.
    func prune() async {
        let cutoff = clock.now - Int64(retentionDays) * 86_400_000
        var total = 0
        do {
            while !Task.isCancelled {
                let pruned = try await store.prune(before: cutoff, limit: Self.batch)
                total += pruned
                if pruned < Self.batch { break }
                try? await Task.sleep(for: .milliseconds(50))
            }
        } catch {
            logger.error("Cannot prune old events", metadata: [LogKey.error: "\(error)"])
        }
        if total > 0 {
            logger.info(
                "Pruned old events", metadata: ["relay.pruned": "\(total)", "relay.retention_days": "\(retentionDays)"])
        }
    }
}
