import Foundation
import GigsRelayTesting
import Logging
import Testing

@testable import GigsRelay

/// One hostile peer affects only its own deliveries: a crash loop ends after `max_attempts`, and a
/// black-holed action leaves the others on time.
extension HostilePeerTests {
    @Test("Crash loop: a command that kills the daemon during every attempt is dead after max_attempts restarts")
    func crashLoop() async throws {
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        let killer = try scratch.writeScript(
            // The pause lets the daemon finish answering the POST that started it: the kill is meant
            // to land during the attempt, not race the 202 on a loaded machine.
            "killer.sh", "echo attempt >> \"\(scratch.file("count"))\"\nsleep 0.3\nkill -9 $PPID")
        let fixture = try DaemonFixture(
            extraTOML: """
                [dispatch]
                max_attempts = 3
                lease_seconds = 2
                [actions.killer]
                kind = "exec"
                command = ["/bin/sh", "\(killer)"]
                timeout_seconds = 1
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = ["killer"]
                """
        )
        defer { fixture.directory.remove() }
        var (daemon, address) = try await fixture.start()
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_killer"), to: address) == 202)
        var restarts = 0
        while restarts <= 5 {
            // The daemon dies during the attempt, or survives once the delivery is dead.
            let deadline = ContinuousClock.now + .seconds(8)
            while daemon.isRunning && ContinuousClock.now < deadline {
                if try await deliveries(fixture).first?.status == .dead { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            if daemon.isRunning { break }
            restarts += 1
            (daemon, address) = try await fixture.start()
        }
        #expect(restarts == 3)
        let delivery = try #require(try await deliveries(fixture).first)
        #expect(delivery.status == .dead)
        #expect(delivery.lastError == "attempt did not finish: lease expired 3 times (attempt 3 of 3)")
        let ran = try String(contentsOfFile: scratch.file("count"), encoding: .utf8)
        #expect(ran.split(separator: "\n").count == 3)
        try await expectServing(fixture, address, daemon)
        try await daemon.stop()
    }

    @Test("Isolation: a black-holed action holds its workers, another action keeps delivering on time")
    func isolation() async throws {
        let peer = try HostilePeer.http()
        let receiver = try WebhookReceiver(secret: actionSecret)
        let fixture = try DaemonFixture(
            extraTOML: """
                [dispatch]
                workers = 4
                max_attempts = 1
                [actions.stuck]
                kind = "http"
                url = "\(peer.url("/blackhole"))"
                secret = "env:ACTION_SECRET"
                timeout_seconds = 20
                [actions.healthy]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = ["stuck", "healthy"]
                """
        )
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
        for index in 0..<10 {
            let body = SampleEvents.subscriptionActivated(id: "evt_iso_\(index)")
            #expect(try await fixture.post(body, to: address) == 202)
        }
        // Each healthy delivery goes through while the stuck action's attempts hang for 20 s.
        try await eventuallyAsync(timeout: .seconds(5), "the healthy deliveries") {
            try await deliveries(fixture, action: "healthy").filter { $0.status == .succeeded }.count == 10
        }
        // The stuck action holds every worker but one, never the last.
        try await eventuallyAsync(timeout: .seconds(5), "the stuck action to hold three workers") {
            try await deliveries(fixture, action: "stuck").filter { $0.status == .running }.count == 3
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await deliveries(fixture, action: "stuck").filter { $0.status == .running }.count == 3)
        try await expectServing(fixture, address, daemon)
        daemon.signal(SIGKILL)
        _ = try await daemon.waitForExit()
    }
}
