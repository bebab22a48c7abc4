import AsyncHTTPClient
import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Several real `gigs-relay serve` processes on one real PostgreSQL database, delivering to a real
/// receiver: the scale-out promises of docs/postgresql.md.
@Suite("PostgreSQL: several instances (real binary)", .serialized)
struct PostgresProcessTests {
    let actionSecret = TestSigner.randomSecret()

    /// A fixture on a new database of `cluster`, routing subscription events to an http action at
    /// `receiver`.
    func fixture(
        cluster: PostgresCluster,
        receiver: WebhookReceiver,
        dispatch: String = "",
        timeoutSeconds: Int = 5
    ) throws -> DaemonFixture {
        try DaemonFixture(
            extraTOML: """
                [dispatch]
                backoff_initial_ms = 50
                backoff_max_ms = 200
                \(dispatch)
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                timeout_seconds = \(timeoutSeconds)
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = ["backend"]
                """,
            postgres: (try cluster.createDatabase(), cluster.password)
        )
    }

    func start(_ fixture: DaemonFixture) async throws -> (RelayProcess, String) {
        try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
    }

    /// The deliveries as `gigs-relay deliveries list --json` prints them.
    func deliveries(_ fixture: DaemonFixture) async throws -> [[String: Any]] {
        let (status, output) = try await fixture.cli(["deliveries", "list", "--json", "--limit", "100000"])
        guard status == 0 || status == 2 else {
            Issue.record("deliveries list failed (\(status)): \(output)")
            return []
        }
        let json = output.split(separator: "\n").filter { !$0.hasPrefix("warning") }.joined(separator: "\n")
        return (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]]) ?? []
    }

    @Test(
        "Two instances starting at once on an empty database: migrated once; events to either, duplicates to the other, stored once and delivered once"
    )
    func twoInstances() async throws {
        let cluster = try PostgresCluster.shared()
        let receiver = try WebhookReceiver(secret: actionSecret)
        let fixture = try fixture(cluster: cluster, receiver: receiver)
        defer { fixture.directory.remove() }
        async let first = start(fixture)
        async let second = start(fixture)
        let (one, oneAddress) = try await first
        let (two, twoAddress) = try await second
        let ids = (0..<40).map { "evt_pg_\($0)" }
        for (index, id) in ids.enumerated() {
            let body = SampleEvents.subscriptionActivated(id: id)
            let (to, other) = index.isMultiple(of: 2) ? (oneAddress, twoAddress) : (twoAddress, oneAddress)
            #expect(try await fixture.post(body, to: to) == 202)
            // Gigs retries through Svix, which may reach the other instance.
            #expect(try await fixture.post(body, to: other) == 200)
        }
        let requests = try await receiver.waitForRequests(ids.count)
        try await eventuallyAsync("every delivery succeeded") {
            let deliveries = try await deliveries(fixture)
            return deliveries.count == ids.count && deliveries.allSatisfy { $0["status"] as? String == "succeeded" }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(receiver.requests.count == requests.count)
        let delivered = receiver.requests.compactMap { request in
            ids.first { request.body.contains("\"\($0)\"") }
        }
        #expect(delivered.count == ids.count)
        #expect(Set(delivered).count == ids.count)
        #expect(receiver.requests.allSatisfy { $0.verified == true })
        // Both instances did some of the work, and the schema was migrated once.
        try await one.stop()
        try await two.stop()
        let logs = one.log + two.log
        #expect(
            logs.components(separatedBy: "Applied store migration").count - 1 == StoreConformance.migrations.count)
        #expect(logs.contains("relay.store.backend=postgresql"))
        #expect(!logs.contains(cluster.password))
        let database = String(fixture.postgres!.url.split(separator: "/").last!)
        #expect(
            try cluster.psql("SELECT count(*) FROM schema_migrations", database: database)
                == "\(StoreConformance.migrations.count)")
        #expect(try cluster.psql("SELECT count(*) FROM events", database: database) == "\(ids.count)")
        // The CLI reads the same store with the same output as on SQLite.
        let (status, output) = try await fixture.cli(["events", "show", "evt_pg_7"])
        #expect(status == 0)
        #expect(output.contains("evt_pg_7"))
        #expect(!output.contains(cluster.password))
    }

    @Test("An instance killed with SIGKILL during deliveries: the other finishes them once their lease expires")
    func killedInstance() async throws {
        let cluster = try PostgresCluster.shared()
        let receiver = try WebhookReceiver(secret: actionSecret)
        try receiver.setDelay(milliseconds: 30_000)
        let fixture = try fixture(
            cluster: cluster, receiver: receiver, dispatch: "lease_seconds = 4", timeoutSeconds: 3)
        defer { fixture.directory.remove() }
        let (victim, victimAddress) = try await start(fixture)
        let ids = (0..<6).map { "evt_kill_\($0)" }
        for id in ids {
            #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: id), to: victimAddress) == 202)
        }
        // Its attempts hang at the receiver: kill it while they run.
        _ = try await receiver.waitForRequests(ids.count)
        victim.signal(SIGKILL)
        _ = try? await victim.waitForExit()
        try receiver.setDelay(milliseconds: 0)
        let killedAt = ContinuousClock.now
        let (survivor, _) = try await start(fixture)
        try await eventuallyAsync(timeout: .seconds(30), "the survivor delivered them") {
            let deliveries = try await deliveries(fixture)
            return deliveries.count == ids.count && deliveries.allSatisfy { $0["status"] as? String == "succeeded" }
        }
        let took = ContinuousClock.now - killedAt
        #expect(took < .seconds(4 + 2 + 3), "lease + 2 s (+ the survivor's start): took \(took)")
        let attempts = try await deliveries(fixture).compactMap { $0["attemptCount"] as? Int }
        #expect(attempts.allSatisfy { $0 == 2 })  // the interrupted attempt counts
        try await survivor.stop()
    }

    @Test(
        "pg_ctl restart -m immediate during ingest and dispatch: 503 while down, nothing acknowledged lost, recovery by itself"
    )
    func databaseRestart() async throws {
        let cluster = try PostgresCluster.start()
        defer { cluster.stop() }
        let receiver = try WebhookReceiver(secret: actionSecret)
        try receiver.setDelay(milliseconds: 50)
        let fixture = try fixture(cluster: cluster, receiver: receiver)
        defer { fixture.directory.remove() }
        let (one, oneAddress) = try await start(fixture)
        let (two, twoAddress) = try await start(fixture)
        let acknowledged = Locked<[String]>([])
        let statuses = Locked<[Int]>([])
        let stop = Locked(false)
        let sender = Task {
            var index = 0
            while !stop.value {
                let id = "evt_restart_\(index)"
                index += 1
                let status =
                    (try? await fixture.post(
                        SampleEvents.subscriptionActivated(id: id),
                        to: index.isMultiple(of: 2) ? oneAddress : twoAddress,
                        timeout: .seconds(10))) ?? 0
                statuses.withLock { $0.append(status) }
                if status == 202 || status == 200 { acknowledged.withLock { $0.append(id) } }
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try await eventuallyAsync("some events before the restart") { acknowledged.value.count >= 20 }
        try cluster.stopServer(mode: "immediate")
        try await eventuallyAsync("503 while the database is down") { statuses.value.suffix(3) == [503, 503, 503] }
        let (readyStatus, readyBody) = try await fixture.fetch("/readyz", from: oneAddress)
        #expect(readyStatus == 503)
        #expect(readyBody.contains("store"))
        try await Task.sleep(for: .seconds(2))
        try cluster.startServer()
        try await eventuallyAsync("ingest back by itself") { statuses.value.suffix(3) == [202, 202, 202] }
        stop.withLock { $0 = true }
        await sender.value
        let ids = acknowledged.value
        #expect(statuses.value.allSatisfy { [200, 202, 503].contains($0) }, "\(Set(statuses.value))")
        try await eventuallyAsync(timeout: .seconds(60), "every acknowledged event delivered") {
            let delivered = try await deliveries(fixture).filter { $0["status"] as? String == "succeeded" }
            return Set(delivered.compactMap { $0["eventId"] as? String }).isSuperset(of: ids)
        }
        try await eventuallyAsync("both ready again") {
            let first = try await fixture.get("/readyz", from: oneAddress)
            let second = try await fixture.get("/readyz", from: twoAddress)
            return first == 200 && second == 200
        }
        try await one.stop()
        try await two.stop()
    }

    @Test(
        "Two instances behind the shipped nginx site (deploy/nginx/gigs-relay-instances.conf): one killed, the other takes every request"
    )
    func behindNginx() async throws {
        let cluster = try PostgresCluster.shared()
        let receiver = try WebhookReceiver(secret: actionSecret)
        let fixture = try DaemonFixture(
            serverTOML: #"trusted_proxies = ["127.0.0.1/32"]"#,
            extraTOML: """
                [dispatch]
                lease_seconds = 3
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                timeout_seconds = 2
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = ["backend"]
                """,
            postgres: (try cluster.createDatabase(), cluster.password))
        defer { fixture.directory.remove() }
        let (one, oneAddress) = try await start(fixture)
        let (two, twoAddress) = try await start(fixture)
        let nginx = try NginxProxy(
            site: "deploy/nginx/gigs-relay-instances.conf",
            upstreams: ["10.0.0.11:8080": oneAddress, "10.0.0.12:8080": twoAddress])
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(nginx.certificatePath)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: tls))
        func post(_ id: String) async throws -> Int {
            let body = SampleEvents.subscriptionActivated(id: id)
            var request = HTTPClientRequest(url: "https://\(nginx.address)/webhooks/gigs")
            request.method = .POST
            for field in fixture.signer.headers(body: body) {
                request.headers.add(name: field.name.rawName, value: field.value)
            }
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .seconds(10))
            _ = try await response.body.collect(upTo: 1 << 20)
            return Int(response.status.code)
        }
        var statuses: [Int] = []
        do {
            for index in 0..<10 { statuses.append(try await post("evt_nginx_\(index)")) }
            one.signal(SIGKILL)
            _ = try? await one.waitForExit()
            for index in 10..<20 { statuses.append(try await post("evt_nginx_\(index)")) }
            statuses.append(try await post("evt_nginx_3"))  // a Gigs retry: a duplicate, whichever instance
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
        #expect(statuses == Array(repeating: 202, count: 20) + [200], "\(nginx.errorLog)")
        try await eventuallyAsync("every delivery succeeded") {
            let deliveries = try await deliveries(fixture)
            return deliveries.count == 20 && deliveries.allSatisfy { $0["status"] as? String == "succeeded" }
        }
        try await two.stop()
    }

    @Test("A start that fails after the store opened (an admin token that cannot be read) exits 78, not hangs")
    func failedStartClosesTheStore() async throws {
        let fixture = try DaemonFixture(
            backend: .postgresql, extraTOML: "[admin]\ntoken = \"env:GIGS_RELAY_TEST_UNSET\"")
        defer { fixture.directory.remove() }
        // The pool never ran (the service group never started): closing the store must not wait for it.
        let started = ContinuousClock.now
        let result = try await RelayProcess.run(
            ["serve", "--config", fixture.configPath], directory: fixture.directory.path,
            environment: fixture.environment)
        #expect(result.status == 78, "\(result.output)")
        #expect(result.output.contains("GIGS_RELAY_TEST_UNSET is not set"))
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
