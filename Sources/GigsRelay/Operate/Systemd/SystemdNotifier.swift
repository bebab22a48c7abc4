import CRelaySystemd
import Foundation

/// Tells systemd about the daemon's state through `sd_notify` (a no-op when not run by systemd).
public struct SystemdNotifier: Sendable {
    public init() {}

    /// Whether `NOTIFY_SOCKET` is set, i.e. a service manager listens.
    public var isEnabled: Bool { ProcessInfo.processInfo.environment["NOTIFY_SOCKET"] != nil }

    /// Sends newline-separated assignments such as `READY=1` and `STATUS=…`.
    public func notify(_ assignments: String...) {
        _ = relay_sd_notify(assignments.joined(separator: "\n"))
    }

    /// The listening sockets systemd passed to this process (socket activation), in the order of the
    /// `.socket` unit's `Listen…=` lines; empty when started without them. Takes them over: the
    /// `LISTEN_*` variables are unset so no child inherits them.
    public static func listenDescriptors() -> [CInt] {
        let count = relay_sd_listen_fds()
        let start = relay_sd_listen_fds_start()
        return (0..<count).map { start + $0 }
    }

    /// The interval systemd expects watchdog pings within, or nil when `WatchdogSec=` is not set for
    /// this process.
    public var watchdogInterval: Duration? {
        let microseconds = relay_sd_watchdog_usec()
        return microseconds == 0 ? nil : .microseconds(Int64(microseconds))
    }
}
