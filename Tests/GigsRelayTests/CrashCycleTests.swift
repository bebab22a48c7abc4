import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// Crashes and downstream outages under load, against the real binary and a real HTTP receiver.
@Suite("Faults: crash cycles and outages (real binary)", .serialized)
struct CrashCycleTests {
    let actionSecret = TestSigner.randomSecret()

    func fixture(receiver: WebhookReceiver, retry: String) throws -> DaemonFixture {
        try DaemonFixture(
            extraTOML: """
                [dispatch]
                lease_seconds = 2
                \(retry)
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                timeout_seconds = 1
                [[routes]]
                events = ["*"]
                actions = ["backend"]
                """
        )
    }

    @Test("20 SIGKILLs at random moments under ingest and dispatch: nothing acknowledged is lost or doubled")
    func crashCycles() async throws {
        let receiver = try WebhookReceiver()
        let fixture = try fixture(
            receiver: receiver, retry: "max_attempts = 100\nbackoff_initial_ms = 100\nbackoff_max_ms = 500")
        defer { fixture.directory.remove() }
        let acknowledged = Locked<[String]>([])
        for cycle in 0..<20 {
            let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for sequence in 0..<100_000 {
                            let id = "evt_c\(cycle)_w\(worker)_\(sequence)"
                            let body = SampleEvents.subscriptionActivated(id: id)
                            guard let status = try? await fixture.post(body, to: address, timeout: .seconds(3))
                            else { return }
                            if status == 202 { acknowledged.withLock { $0.append(id) } }
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 100...600)))
                daemon.signal(SIGKILL)
                try await group.waitForAll()
            }
            #expect(try await daemon.waitForExit() == SIGKILL)
        }

        let (daemon, _) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
        let reader = try EventLogReader(path: fixture.storePath)
        let acked = acknowledged.value
        // Enough load to mean something; how much a cycle takes depends on the machine (and the sanitizer:
        // 81 were seen on a loaded one).
        #expect(acked.count > 40)
        for id in acked {
            #expect(try reader.rowCount(id: EventID(id)) == 1, "acknowledged \(id) is not stored exactly once")
        }
        let events = try reader.count()
        try await eventually(timeout: .seconds(120), "every delivery succeeded") {
            try reader.deliveries(DeliveryFilter(status: .succeeded, limit: 1_000_000)).count == events
        }
        try await daemon.stop()

        // The receiver saw each delivery no more often than its recorded attempts explain.
        var seen: [String: Int] = [:]
        for request in receiver.requests { seen[request.headers["webhook-id"] ?? "", default: 0] += 1 }
        let deliveries = try reader.deliveries(DeliveryFilter(limit: 1_000_000))
        #expect(deliveries.count == events)
        for delivery in deliveries {
            let attempts = try reader.attempts(of: delivery.id).count
            #expect(seen[delivery.id.description, default: 0] >= 1, "\(delivery.id) never reached the receiver")
            #expect(
                seen[delivery.id.description, default: 0] <= attempts, "\(delivery.id): more requests than attempts")
        }
    }

    @Test("A downstream outage backs off (no tight loop, Retry-After honoured) and catches up when it returns")
    func downstreamOutage() async throws {
        let receiver = try WebhookReceiver(statuses: "503")
        let fixture = try fixture(
            receiver: receiver, retry: "max_attempts = 50\nbackoff_initial_ms = 200\nbackoff_max_ms = 2000")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
        for index in 0..<10 {
            #expect(
                try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_out_\(index)"), to: address) == 202)
        }
        try await Task.sleep(for: .seconds(4))
        let duringOutage = receiver.requests.count
        // Ten deliveries over four seconds, each waiting at least the receiver's Retry-After of 1 s.
        #expect(duringOutage >= 10)
        #expect(duringOutage <= 10 * 5, "\(duringOutage) attempts in 4 s is a tight loop")
        try receiver.setStatuses("200")
        let reader = try EventLogReader(path: fixture.storePath)
        try await eventually(timeout: .seconds(30), "caught up") {
            try reader.deliveries(DeliveryFilter(status: .succeeded)).count == 10
        }
        try await daemon.stop()
    }
}
