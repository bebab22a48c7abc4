import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
    // The release build finds stat and timespec through Dispatch's C module.
    import CDispatch
    import Glibc
#endif

/// Re-reads the configuration file and its secrets on SIGHUP and swaps the routes, actions and webhook
/// secrets in one step; a file that does not validate leaves the running configuration in place, and
/// the log says why.
///
/// systemd hears `RELOADING=1` (with `MONOTONIC_USEC`) before and `READY=1` after. Settings that only a
/// restart can change (listeners, the store, the dispatcher's workers, …) are named in the log.
struct ReloadService: Service, CustomStringConvertible {
    let path: String
    /// The configuration the daemon started with.
    let started: RelayConfiguration
    let live: LiveSettings
    let environment: [String: String]
    let client: HTTPClient
    let clock: any RelayClock
    let notifier: SystemdNotifier
    let status: StatusLine
    let logger: Logger

    /// Only the path: the default description would list the environment, which holds secrets
    /// (ServiceLifecycle logs every service's description at debug level).
    var description: String { "ReloadService(path: \(path))" }

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals { reload() }
        }
    }

    /// One reload; never throws: a failure keeps what runs.
    func reload() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
        notifier.notify("RELOADING=1", "MONOTONIC_USEC=\(microseconds)", "STATUS=Reloading the configuration")
        defer { notifier.notify("READY=1", "STATUS=\(status.current)") }
        logger.info("Reloading the configuration", metadata: [LogKey.configPath: "\(path)"])
        let configuration: RelayConfiguration
        let snapshot: LiveSettings.Snapshot
        do {
            configuration = try RelayConfiguration.load(path: path)
            snapshot = try LiveSettings.make(configuration, environment: environment, client: client, clock: clock)
        } catch {
            logger.error(
                "The new configuration is invalid; keeping the running one",
                metadata: [LogKey.configPath: "\(path)", LogKey.error: "\(error)"]
            )
            return
        }
        let previous = live.snapshot
        live.replace(with: snapshot)
        logger.notice(
            "Configuration reloaded",
            metadata: [
                LogKey.configPath: "\(path)", LogKey.secretCount: "\(configuration.webhook.secrets.count)",
                "relay.routes": "\(configuration.routes.count)", "relay.actions": "\(configuration.actions.count)",
            ]
        )
        for name in Set(previous.settings.keys).subtracting(snapshot.settings.keys).sorted() {
            logger.warning(
                "An action was removed; its queued deliveries stay pending until it is configured again",
                metadata: [LogKey.action: "\(name)"]
            )
        }
        for key in configuration.restartOnlyChanges(from: started) {
            logger.warning(
                "A changed setting takes effect only after a restart",
                metadata: ["relay.config.key": "\(key)"]
            )
        }
    }
}
