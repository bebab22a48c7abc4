import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// `gigs-relay store copy` between the real SQLite file and a real PostgreSQL database, with the real binary.
@Suite("Store copy (real binary)", .serialized)
struct StoreCopyTests {
    let actionSecret = TestSigner.randomSecret()

    func fixture(
        receiver: WebhookReceiver, postgres: (url: String, password: String)? = nil, maxAttempts: Int = 2,
        action: String = ""
    ) throws -> DaemonFixture {
        try DaemonFixture.httpBackend(
            receiver, action: action, events: #"["com.gigs.subscription.*"]"#, maxAttempts: maxAttempts,
            postgres: postgres)
    }

    /// Runs `gigs-relay store copy` with the PostgreSQL password in `PGPASS`.
    func copy(from: String, to: String, password: String, yes: Bool = false, in directory: TemporaryDirectory)
        async throws -> (status: Int32, output: String)
    {
        var arguments = ["store", "copy", "--from", from, "--to", to]
        if from.hasPrefix("postgres") { arguments += ["--from-password", "env:PGPASS"] }
        if to.hasPrefix("postgres") { arguments += ["--to-password", "env:PGPASS"] }
        if yes { arguments.append("--yes") }
        return try await RelayProcess.run(arguments, directory: directory.path, environment: ["PGPASS": password])
    }

    func deliveriesDone(_ fixture: DaemonFixture, count: Int, finished: Set<String> = ["succeeded", "dead"])
        async throws -> Bool
    {
        let (_, output) = try await fixture.cli(["deliveries", "list", "--json", "--limit", "100000"])
        let deliveries = (try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]]) ?? []
        return deliveries.count == count
            && deliveries.allSatisfy { finished.contains($0["status"] as? String ?? "") }
    }

    @Test("SQLite → PostgreSQL → SQLite keeps every row and id, checksums equal; a second run copies nothing")
    func roundTrip() async throws {
        let cluster = try PostgresCluster.shared()
        let receiver = try WebhookReceiver(secret: actionSecret, statuses: "200 200 500 500 200")
        // Ordered, so that the copy has subjects and order times to keep.
        let fixture = try fixture(
            receiver: receiver, action: "ordering = \"subject\"\nreorder_window_ms = 0\non_dead = \"continue\"")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
        for index in 0..<12 {
            let body = SampleEvents.ofSubscription(
                id: "evt_copy_\(index)", subscription: "sub_copy_\(index % 3)", time: "2026-11-23T10:00:\(10 + index)Z")
            #expect(try await fixture.post(body, to: address) == 202)
        }
        _ = try await fixture.post(SampleEvents.body(id: "evt_unrouted", type: "com.gigs.ping"), to: address)
        try await eventuallyAsync("deliveries done") { try await deliveriesDone(fixture, count: 12) }
        try await daemon.stop()

        let url = try cluster.createDatabase()
        let there = try await copy(from: fixture.storePath, to: url, password: cluster.password, in: fixture.directory)
        #expect(there.status == 0, "\(there.output)")
        #expect(there.output.contains("events: 13 in the source, 13 copied"))
        #expect(there.output.contains("copy complete"))
        #expect(!there.output.contains(cluster.password))
        let again = try await copy(
            from: fixture.storePath, to: url, password: cluster.password, in: fixture.directory)
        #expect(again.status == 1)  // the destination holds events: --yes needed
        let resumed = try await copy(
            from: fixture.storePath, to: url, password: cluster.password, yes: true, in: fixture.directory)
        #expect(resumed.status == 0, "\(resumed.output)")
        #expect(resumed.output.contains("events: 13 in the source, 0 copied, 13 left out"))
        #expect(resumed.output.contains("deliveries: 12 in the source, 0 copied"))

        let back = fixture.directory.file("back.sqlite3")
        let home = try await copy(from: url, to: back, password: cluster.password, in: fixture.directory)
        #expect(home.status == 0, "\(home.output)")
        // The original and the round trip hold the same rows: a copy between them finds nothing to do.
        let compare = try await copy(
            from: fixture.storePath, to: back, password: cluster.password, yes: true, in: fixture.directory)
        #expect(compare.status == 0, "\(compare.output)")
        for table in ["events: 13", "deliveries: 12", "attempts:"] {
            #expect(compare.output.contains(table))
        }
        #expect(
            !compare.output.contains(" 1 copied") && compare.output.components(separatedBy: ", 0 copied").count == 4)
        let checksums = compare.output.split(separator: "\n").filter { $0.contains("checksum") }
        #expect(checksums.count == 3 && checksums.allSatisfy { $0.contains(" = ") })
        let subjects = try EventLogReader(path: back).deliveries(DeliveryFilter(limit: 100)).compactMap(\.subject)
        #expect(Set(subjects) == ["sub_copy_0", "sub_copy_1", "sub_copy_2"] && subjects.count == 12)
    }

    @Test(
        "A copy while the SQLite daemon still ingests, then a catch-up after the switch: nothing lost, PostgreSQL instances finish the work"
    )
    func copyWhileIngesting() async throws {
        let cluster = try PostgresCluster.shared()
        let receiver = try WebhookReceiver(secret: actionSecret, statuses: "503")
        let old = try fixture(receiver: receiver, maxAttempts: 1000)
        defer { old.directory.remove() }
        let (daemon, address) = try await old.start(environment: ["ACTION_SECRET": actionSecret])
        let url = try cluster.createDatabase()
        let acknowledged = Locked<[String]>([])
        let stop = Locked(false)
        let sender = Task {
            var index = 0
            while !stop.value {
                let id = "evt_tail_\(index)"
                index += 1
                if (try? await old.post(SampleEvents.subscriptionActivated(id: id), to: address)) == 202 {
                    acknowledged.withLock { $0.append(id) }
                }
                try? await Task.sleep(for: .milliseconds(10))
            }
        }
        try await eventuallyAsync("events before the copy") { acknowledged.value.count >= 20 }
        let first = try await copy(from: old.storePath, to: url, password: cluster.password, in: old.directory)
        #expect([0, 1].contains(first.status), "\(first.output)")  // 1: the source moved on meanwhile
        // The switch: stop sending to the old daemon, stop it, catch up.
        stop.withLock { $0 = true }
        await sender.value
        try await daemon.stop()
        let tail = try await copy(
            from: old.storePath, to: url, password: cluster.password, yes: true, in: old.directory)
        #expect(tail.status == 0, "\(tail.output)")
        let database = String(url.split(separator: "/").last!)
        let stored = try cluster.psql("SELECT id FROM events ORDER BY seq", database: database).split(separator: "\n")
        #expect(Set(stored.map(String.init)).isSuperset(of: acknowledged.value))
        // A PostgreSQL-backed instance takes over the pending deliveries once the receiver is back.
        try receiver.setStatuses("200")
        let new = try fixture(receiver: receiver, postgres: (url, cluster.password), maxAttempts: 1000)
        defer { new.directory.remove() }
        let (instance, newAddress) = try await new.start(environment: ["ACTION_SECRET": actionSecret])
        #expect(try await new.post(SampleEvents.subscriptionActivated(id: "evt_after_switch"), to: newAddress) == 202)
        #expect(try await new.post(SampleEvents.subscriptionActivated(id: "evt_tail_0"), to: newAddress) == 200)
        try await eventuallyAsync(timeout: .seconds(60), "the new instance finished everything") {
            try await deliveriesDone(new, count: acknowledged.value.count + 1, finished: ["succeeded"])
        }
        try await instance.stop()
        // New ids start past the reserved range, so a later catch-up could not collide.
        let newest = try cluster.psql("SELECT seq FROM events WHERE id = 'evt_after_switch'", database: database)
        #expect((Int64(newest) ?? 0) > 1_000_000)
    }
}
