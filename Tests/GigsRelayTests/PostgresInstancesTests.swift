import Foundation
import GigsRelay
import GigsRelayTesting
import Logging
import Testing

/// What only PostgreSQL has: several instances on one database.
@Suite("PostgreSQL store: several instances")
struct PostgresInstancesTests {
    let signer = TestSigner()

    @Test("Two instances starting at once on an empty database migrate it once")
    func concurrentMigrations() async throws {
        let (location, environment, _) = try StoreUnderTest.location(.postgresql)
        let logs = try await withThrowingTaskGroup(of: (any EventLog).self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await location.openLog(environment: environment, logger: StoreUnderTest.logger)
                }
            }
            var logs: [any EventLog] = []
            for try await log in group { logs.append(log) }
            return logs
        }
        let console = try await location.openConsole(environment: environment, logger: StoreUnderTest.logger)
        #expect(try await console.appliedMigrations() == StoreConformance.migrations)
        await console.close()
        for log in logs { await log.close() }
    }

    @Test("A commit that creates deliveries on one instance wakes the others through LISTEN/NOTIFY")
    func notifyWakesOtherInstances() async throws {
        let (location, environment, _) = try StoreUnderTest.location(.postgresql)
        let handOff = DeliveryHandOff()
        let listening = try await location.openLog(
            environment: environment, logger: StoreUnderTest.logger, handOff: handOff)
        let other = try await location.openLog(environment: environment, logger: StoreUnderTest.logger)
        // Until the listener is registered, events may pass unheard: keep appending until one is heard.
        var index = 0
        try await eventuallyAsync("a wake-up from the other instance's commit") {
            index += 1
            _ = try await other.append(try signer.verifiedEvent(id: "evt_notify_\(index)"), actions: ["a"])
            return await handOff.wakeup.wait(timeout: .milliseconds(100)) == .claim
        }
        // Notifications of the earlier appends may still arrive: wait until they have.
        while await handOff.wakeup.wait(timeout: .milliseconds(300)) != nil {}
        // An event without deliveries wakes nobody.
        _ = try await other.append(try signer.verifiedEvent(id: "evt_quiet"), actions: [])
        #expect(await handOff.wakeup.wait(timeout: .milliseconds(500)) == nil)
        await other.close()
        await listening.close()
    }

    @Test(
        "TLS to PostgreSQL: verify-full trusts only the given CA; an unknown one, a wrong password fail at once and clearly"
    )
    func tls() async throws {
        let cluster = try PostgresCluster.start(tls: true)
        defer { cluster.stop() }
        let database = String(try cluster.createDatabase().split(separator: "/").last!)
        let certificate = try #require(cluster.certificatePath)
        func open(_ query: String, password: String? = nil) async throws -> any StoreConsole {
            let url = try PostgresURL(
                parsing: "postgres://postgres@localhost:\(cluster.port)/\(database)?\(query)", key: "store.url")
            return try await StoreLocation.postgres(
                url, password: try SecretReference(parsing: "env:PGPASS", key: "store.password"), poolSize: 2
            ).openConsole(environment: ["PGPASS": password ?? cluster.password], logger: StoreUnderTest.logger)
        }
        let verified = try await open("sslmode=verify-full&sslrootcert=\(certificate)")
        #expect(try await verified.eventCount() == 0)
        await verified.close()
        let unchecked = try await open("sslmode=require")
        await unchecked.close()
        let started = ContinuousClock.now
        do {
            _ = try await open("sslmode=verify-full")
            Issue.record("a certificate from an unknown CA was accepted")
        } catch {
            #expect("\(error)".contains("store_open_failed"), "\(error)")
        }
        do {
            _ = try await open("sslmode=verify-full&sslrootcert=\(certificate)", password: "not-the-password")
            Issue.record("a wrong password was accepted")
        } catch {
            #expect("\(error)".contains("28P01"), "\(error)")  // invalid_password
            #expect(!"\(error)".contains("not-the-password"))
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("Two instances claiming at once never claim the same delivery; a duplicate across them is one event")
    func disjointClaims() async throws {
        try await StoreUnderTest.with(.postgresql) { store in
            let other = try await store.openAnotherLog()
            let event = try signer.verifiedEvent(id: "evt_shared")
            async let first = store.log.append(event, actions: ["a"])
            async let second = other.append(event, actions: ["a"])
            #expect([try await first, try await second].sorted { "\($0)" < "\($1)" } == [.accepted, .duplicate])
            for index in 0..<200 {
                _ = try await (index.isMultiple(of: 2) ? store.log : other).append(
                    try signer.verifiedEvent(id: "evt_\(index)"), actions: ["a", "b"])
            }
            let now = StoreConformance.now()
            let claimed = try await withThrowingTaskGroup(of: [DeliveryID].self) { group in
                for index in 0..<16 {
                    let log = index.isMultiple(of: 2) ? store.log : other
                    group.addTask {
                        var ids: [DeliveryID] = []
                        while true {
                            let claim = try await StoreConformance.claim(log, limit: 7, now: now)
                            if claim.jobs.isEmpty { return ids }
                            ids += claim.jobs.map(\.id)
                        }
                    }
                }
                var all: [DeliveryID] = []
                for try await ids in group { all += ids }
                return all
            }
            #expect(claimed.count == 401)  // the shared event to "a", 200 events to "a" and "b"
            #expect(Set(claimed).count == 401)
            await other.close()
        }
    }
}
