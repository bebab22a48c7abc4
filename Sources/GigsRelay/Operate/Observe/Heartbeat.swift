import Synchronization

/// When a long-running loop last showed it was alive (Unix ms); 0 before its first beat.
public final class Heartbeat: Sendable {
    private let last = Atomic<Int64>(0)

    public init() {}

    /// Records that the loop is alive now.
    func beat(now: Int64 = unixMilliseconds()) {
        last.store(now, ordering: .relaxed)
    }

    /// Milliseconds since the last beat, or nil when it never beat.
    func age(now: Int64) -> Int64? {
        let last = last.load(ordering: .relaxed)
        return last == 0 ? nil : now - last
    }

    /// Stops counting as alive (the loop has ended).
    func stop() {
        last.store(0, ordering: .relaxed)
    }
}
