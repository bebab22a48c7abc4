import Logging
import ServiceLifecycle

/// Pings systemd's watchdog (`WATCHDOG=1`) at half of `WatchdogSec=`, but only while every check passes:
/// in the daemon, the store's writer answers, the dispatcher's loop turns, and the HTTP listener answers
/// (``HTTPLoopProbe``). A wedged part stops the pings, and systemd restarts the daemon.
public struct WatchdogService: Service {
    let interval: Duration
    /// What is stuck right now; empty when every part is alive.
    let checks: @Sendable () async -> [String]
    /// Sends `WATCHDOG=1`.
    let ping: @Sendable () -> Void
    let logger: Logger

    public init(
        interval: Duration,
        checks: @escaping @Sendable () async -> [String],
        ping: @escaping @Sendable () -> Void,
        logger: Logger
    ) {
        self.interval = interval
        self.checks = checks
        self.ping = ping
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let problems = await checks()
                if problems.isEmpty {
                    ping()
                } else {
                    logger.warning(
                        "Withholding the watchdog ping",
                        metadata: [LogKey.reasons: "\(problems.joined(separator: "; "))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
