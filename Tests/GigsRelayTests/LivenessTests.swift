import Foundation
import GigsRelayTesting
import Logging
import NIOCore
import NIOPosix
import Testing

@testable import GigsRelay

@Suite("Liveness and the watchdog")
struct LivenessTests {
    @Test("A dispatcher that stops turning or a silent store is a liveness problem")
    func staleParts() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let logger = Logger(label: "test")
        let store = try SQLiteStore(path: directory.file("events.sqlite3"), logger: logger)
        let heartbeat = Heartbeat()
        let monitor = RelayMonitor(
            store: store, metrics: RelayMetrics(), ready: .init(), dispatcher: heartbeat, logger: logger)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(monitor.livenessProblems(now: now) == ["dispatcher: not running"])
        heartbeat.beat(now: now)
        await monitor.read()
        #expect(monitor.livenessProblems(now: now + 1000).isEmpty)
        #expect(monitor.livenessProblems(now: now + 20_000).contains("dispatcher: no progress for 20 s"))
        // Measured from the store's answer, which may come seconds after `now` on a loaded machine.
        let answered = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(
            monitor.livenessProblems(now: answered + 20_000).contains {
                $0.hasPrefix("store: the writer has not answered")
            })
        await store.close()
    }

    @Test("The event-loop probe reports a loop that stopped running tasks, without waiting or a request")
    func eventLoopProbe() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let probe = EventLoopProbe(group: group)
        let now = unixMilliseconds()
        #expect(probe.check(now: now).isEmpty)
        try await eventually("both loops ran their task") { probe.check(now: now + 1000).isEmpty }
        // Wedge one loop; the other keeps running its tasks.
        try await Task.sleep(for: .milliseconds(100))
        let release = DispatchSemaphore(value: 0)
        let loops = Array(group.makeIterator())
        loops[1].execute { release.wait() }
        _ = probe.check(now: now + 2000)
        try await Task.sleep(for: .milliseconds(100))
        #expect(probe.check(now: now + 3000).isEmpty)  // not stuck for long yet
        try await Task.sleep(for: .milliseconds(100))
        #expect(probe.check(now: now + 9000) == ["http: event loop 1 has not run a task for 7 s"])
        release.signal()
        try await eventually("the loop recovers") { probe.check(now: now + 10_000).isEmpty }
        try await group.shutdownGracefully()
    }

    @Test("The watchdog pings only while every check passes")
    func watchdogWithholds() async throws {
        let problems = Locked<[String]>([])
        let pings = Locked(0)
        let watchdog = WatchdogService(
            interval: .milliseconds(10),
            checks: { problems.value },
            ping: { pings.withLock { $0 += 1 } },
            logger: Logger(label: "test")
        )
        let task = Task { try await watchdog.run() }
        try await eventually("pings") { pings.value >= 3 }
        problems.withLock { $0 = ["dispatcher: no progress for 20 s"] }
        try await Task.sleep(for: .milliseconds(50))
        let stopped = pings.value
        try await Task.sleep(for: .milliseconds(100))
        #expect(pings.value == stopped)
        problems.withLock { $0 = [] }
        try await eventually("pings again") { pings.value > stopped }
        task.cancel()
    }
}
