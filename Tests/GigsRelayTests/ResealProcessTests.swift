import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// `gigs-relay store encrypt` and `store rekey` with the real binary, beside a daemon that keeps
/// ingesting, killed half-way and run again, on both backends.
@Suite("Store encrypt and rekey (real binary)", .serialized)
struct ResealProcessTests {
    static let seeded = 100_000
    let secret = TestSigner.randomSecret()

    /// An order-dependent 64-bit FNV-1a of every event's id and opened body, up to `through` (a seq).
    static func checksum(_ fixture: DaemonFixture, sealer: PayloadSealer, through: Int64) async throws -> (UInt64, Int)
    {
        let rows = try await fixture.location.openRows(
            environment: fixture.environment, logger: StoreUnderTest.logger, create: false)
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        var count = 0
        var cursor: Int64 = 0
        while true {
            let page = try await rows.events(after: cursor, limit: 5000).filter { $0.sequence <= through }
            guard let last = page.last else { break }
            cursor = last.sequence
            for row in page {
                for byte in Array(row.id.utf8) + (try sealer.open(row.body, for: .event(EventID(row.id)))) {
                    hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
                }
                count += 1
            }
        }
        await rows.close()
        return (hash, count)
    }

    /// Every event body, delivery error and attempt text of the store sealed with `key`; and the count of
    /// events.
    static func sealedRows(_ fixture: DaemonFixture, key: StoreKey) async throws -> (allSealed: Bool, events: Int) {
        let rows = try await fixture.location.openRows(
            environment: fixture.environment, logger: StoreUnderTest.logger, create: false)
        var allSealed = true
        var events = 0
        var cursor: Int64 = 0
        while true {
            let page = try await rows.events(after: cursor, limit: 5000)
            guard let last = page.last else { break }
            cursor = last.sequence
            events += page.count
            allSealed = allSealed && page.allSatisfy { PayloadSealer.keyID(of: $0.body) == key.id }
        }
        let texts =
            try await rows.deliveries(after: 0, limit: 100_000).compactMap(\.lastError)
            + (try await rows.attempts(after: 0, limit: 100_000)).flatMap { [$0.error, $0.output].compactMap { $0 } }
        allSealed = allSealed && !texts.isEmpty && texts.allSatisfy { PayloadSealer.keyID(ofText: $0) == key.id }
        await rows.close()
        return (allSealed, events)
    }

    /// Inserts `seeded` plaintext events straight into the store (as an older gigs-relay wrote them).
    static func seed(_ fixture: DaemonFixture) throws {
        let values = """
            'evt_seed_' || n, 'com.gigs.subscription.renewed', 'dev-project', '2026-11-23T10:00:00Z', 1764000000000 + n,
            'msg_seed_' || n, 1764000000, 'v1,seed',
            CAST('{"object":"event","id":"evt_seed_' || n || '","type":"com.gigs.subscription.renewed","data":{"id":"sub_'
                || (n % 1000) || '","user":{"id":"usr_' || (n % 5000) || '","email":"seed' || n || '@example.com"}}}' AS BLOB),
            'sub_' || (n % 1000), 'usr_' || (n % 5000)
            """
        let columns =
            "id, type, project, event_time, received_at, message_id, webhook_timestamp, signature, body, subject, user_id"
        switch fixture.backend {
        case .sqlite:
            let sql = """
                WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < \(seeded))
                INSERT INTO events (\(columns)) SELECT \(values) FROM s;
                """
            let (status, output) = try runTool(
                [
                    "python3", "-c",
                    "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
                    fixture.storePath, sql,
                ])
            #expect(status == 0, "\(output)")
        case .postgresql:
            let database = String(fixture.postgres?.url.split(separator: "/").last ?? "")
            try PostgresCluster.shared().psql(
                "INSERT INTO events (\(columns)) SELECT \(values.replacingOccurrences(of: "AS BLOB", with: "AS bytea")) "
                    + "FROM generate_series(1, \(seeded)) AS n",
                database: database)
        }
    }

    @Test(
        "encrypt a 100,000-event plaintext store while ingest goes on, SIGKILL half-way, again; rekey the same way",
        arguments: Backend.allCases)
    func encryptThenRekey(backend: Backend) async throws {
        let first = StoreKey.random()
        let second = StoreKey.random()
        let receiver = try WebhookReceiver(secret: secret, statuses: "503 200")
        let fixture = try DaemonFixture(
            backend: backend,
            extraTOML: """
                [dispatch]
                backoff_initial_ms = 50
                backoff_max_ms = 100
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["backend"]
                """,
            // The seeded events are a year old: retention would prune them while the test runs.
            storeTOML: "retention_days = 0", storeKey: first)
        defer { fixture.directory.remove() }
        let keyed = try String(contentsOfFile: fixture.configPath, encoding: .utf8)
        let key = #"encryption_key = "env:GIGS_STORE_KEY""#
        let plain = try fixture.directory.write("plain.toml", keyed.replacingOccurrences(of: key, with: ""))
        let rekeyed = try fixture.directory.write(
            "rekey.toml",
            keyed.replacingOccurrences(
                of: key, with: key + "\nprevious_encryption_keys = [\"env:GIGS_STORE_KEY_OLD\"]"))
        let environment = fixture.environment.merging([
            "ACTION_SECRET": secret, "GIGS_STORE_KEY_OLD": DaemonFixture.base64(first),
        ]) { $1 }
        func serve(_ config: String, key: StoreKey) async throws -> (RelayProcess, String) {
            let process = try RelayProcess(
                arguments: ["serve", "--config", config], directory: fixture.directory.path,
                environment: environment.merging(["GIGS_STORE_KEY": DaemonFixture.base64(key)]) { $1 })
            return (process, try await process.listenAddress())
        }
        func command(_ arguments: [String], config: String, key: StoreKey) throws -> RelayProcess {
            try RelayProcess(
                arguments: arguments + ["--config", config], directory: fixture.directory.path,
                environment: environment.merging(["GIGS_STORE_KEY": DaemonFixture.base64(key)]) { $1 })
        }

        // A plaintext store: 20 events delivered after a failed attempt each, then 100,000 more.
        var (daemon, address) = try await serve(plain, key: first)
        for index in 0..<20 {
            #expect(
                try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_plain_\(index)"), to: address) == 202
            )
        }
        try await eventuallyAsync("the plaintext store's deliveries succeeded") {
            try await fixture.reading { try await $0.deliveries(DeliveryFilter(status: .succeeded)) }.count == 20
        }
        try await daemon.stop()
        try Self.seed(fixture)
        let through = Int64(Self.seeded + 20)
        let before = try await Self.checksum(fixture, sealer: .plaintext, through: through)
        #expect(before.1 == Self.seeded + 20)

        for (round, (config, sealer, mode)) in [
            (fixture.configPath, PayloadSealer(current: first, previous: []), "encrypt"),
            (rekeyed, PayloadSealer(current: second, previous: [first]), "rekey"),
        ].enumerated() {
            let current = try #require(sealer.current)
            (daemon, address) = try await serve(config, key: current)
            // Ingest goes on during the whole run.
            let ingest = address
            let posted = Task {
                var count = 0
                while !Task.isCancelled {
                    let id = "evt_live_\(round)_\(count)"
                    if (try? await fixture.post(SampleEvents.subscriptionActivated(id: id), to: ingest)) == 202 {
                        count += 1
                    }
                    // A steady stream, not a flood: the two cores are the reseal's too.
                    try? await Task.sleep(for: .milliseconds(20))
                }
                return count
            }
            let killed = try command(["store", mode], config: config, key: current)
            try await eventuallyAsync(timeout: .seconds(120), "\(mode) got half-way") {
                killed.log.contains("  events: 50000 rows read") || !killed.isRunning
            }
            #expect(killed.isRunning, "\(mode) finished before it was killed: \(killed.log)")
            killed.signal(SIGKILL)
            _ = try await killed.waitForExit()
            let again = try command(["store", mode], config: config, key: current)
            #expect(try await again.waitForExit(timeout: .seconds(300)) == 0, "\(again.log)")
            #expect(again.log.contains("every row is sealed"), "\(again.log)")
            if mode == "rekey" { #expect(again.log.contains("no longer needs 1 other key"), "\(again.log)") }
            posted.cancel()
            let live = await posted.value
            #expect(live > 0)
            try await eventuallyAsync(timeout: .seconds(60), "every delivery succeeded") {
                let deliveries = try await fixture.reading(sealer: sealer) {
                    try await $0.deliveries(DeliveryFilter(limit: 100_000))
                }
                return deliveries.count == 20 + (try await Self.livePosted(fixture, sealer))
                    && deliveries.allSatisfy { $0.status == .succeeded }
            }
            try await daemon.stop()

            // Every row sealed with the current key, nothing lost, the payloads as they were.
            let sealed = try await Self.sealedRows(fixture, key: current)
            #expect(sealed.allSealed, "\(mode)")
            #expect(sealed.events == Self.seeded + 20 + (try await Self.livePosted(fixture, sealer)), "\(mode)")
            let after = try await Self.checksum(fixture, sealer: sealer, through: through)
            #expect(after == before, "\(mode)")
        }

        // The first key can go: the store opens with the second alone, and refuses the first alone.
        (daemon, address) = try await serve(fixture.configPath, key: second)
        #expect(try await fixture.get("/healthz", from: address) == 200)
        try await daemon.stop()
        let refused = try command(["serve"], config: fixture.configPath, key: first)
        #expect(try await refused.waitForExit() == 78)
    }

    /// How many `evt_live_…` events the store holds.
    static func livePosted(_ fixture: DaemonFixture, _ sealer: PayloadSealer) async throws -> Int {
        try await fixture.reading(sealer: sealer) { console in
            try await console.events(EventFilter(idPrefix: "evt_live_", limit: 100_000)).count
        }
    }
}
