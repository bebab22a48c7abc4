import Foundation

/// The daemon's answer to writing into a closed pipe or socket.
public enum BrokenPipes {
    /// Ignores SIGPIPE, so a write to a peer that went away (a command that exited without reading, a
    /// dropped connection) fails with `EPIPE` in the code that made it instead of killing the daemon.
    /// Commands the daemon runs get the default disposition back (swift-subprocess resets signals).
    public static func ignore() {
        _ = signal(SIGPIPE, SIG_IGN)
    }
}
