import NIOConcurrencyHelpers
import NIOCore

/// The watchdog's check of the HTTP side, from inside the process: every NIO event loop (the HTTP server,
/// its connections and the HTTP client run on them) must run a small task scheduled at the previous check.
///
/// It sends no request: a request to the daemon's own listener would wait behind `server.max_connections`
/// and the kernel's backlog when the daemon is merely busy, and the watchdog would then restart a healthy
/// daemon. It never waits either: each check looks at whether the task scheduled last time has run, and
/// schedules the next one. The Swift concurrency pool is covered by the watchdog itself, which runs on it.
final class EventLoopProbe: Sendable {
    /// A task that has not run this long after it was scheduled means a stuck loop.
    static let stuckAfterMilliseconds: Int64 = 5_000

    private struct Loop {
        let loop: any EventLoop
        /// When the pending task was scheduled (Unix ms); nil once it has run.
        var pendingSince: Int64?
    }

    private let loops: NIOLockedValueBox<[Loop]>

    init(group: any EventLoopGroup) {
        var loops: [Loop] = []
        for loop in group.makeIterator() { loops.append(Loop(loop: loop, pendingSince: nil)) }
        self.loops = NIOLockedValueBox(loops)
    }

    /// The loops whose last task has not run for ``stuckAfterMilliseconds``; schedules a new task on every
    /// loop whose last one ran.
    func check(now: Int64 = unixMilliseconds()) -> [String] {
        var problems: [String] = []
        var toSchedule: [(Int, any EventLoop)] = []
        loops.withLockedValue { loops in
            for index in loops.indices {
                if let since = loops[index].pendingSince {
                    if now - since > Self.stuckAfterMilliseconds {
                        problems.append("http: event loop \(index) has not run a task for \((now - since) / 1000) s")
                    }
                    continue
                }
                loops[index].pendingSince = now
                toSchedule.append((index, loops[index].loop))
            }
        }
        for (index, loop) in toSchedule {
            loop.execute { self.loops.withLockedValue { $0[index].pendingSince = nil } }
        }
        return problems
    }
}
