import Foundation
import GigsRelay
import GigsRelayTesting
import HTTPTypes
import Testing

/// The real binary, started on port 0 and spoken to over real sockets.
@Suite("Daemon process", .serialized)
struct DaemonProcessTests {
    @Test("Every acknowledged event survives SIGKILL under load, stored exactly once")
    func killNineUnderLoad() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()

        let acknowledged = Locked<[String]>([])
        let attempted = Locked(0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for sequence in 0..<100_000 {
                        let id = "evt_w\(worker)_\(sequence)"
                        attempted.withLock { $0 += 1 }
                        // A short timeout: once the daemon is gone, the client would retry connecting until it passes.
                        let body = SampleEvents.subscriptionActivated(id: id)
                        guard let status = try? await fixture.post(body, to: address, timeout: .seconds(3))
                        else { return }
                        #expect(status == 202)
                        if (200..<300).contains(status) { acknowledged.withLock { $0.append(id) } }
                    }
                }
            }
            // Kill while requests are in flight, once a good number were acknowledged.
            let deadline = ContinuousClock.now + .seconds(60)
            while acknowledged.value.count < 400 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            daemon.signal(SIGKILL)
            try await group.waitForAll()
        }
        #expect(try await daemon.waitForExit() == SIGKILL)
        let acked = acknowledged.value
        #expect(acked.count >= 400)
        #expect(attempted.value > acked.count)  // some requests were cut off mid-flight

        let (restarted, newAddress) = try await fixture.start()
        let reader = try EventLogReader(path: fixture.storePath)
        for id in acked {
            #expect(try reader.rowCount(id: EventID(id)) == 1, "acknowledged \(id) is not stored exactly once")
        }
        // Gigs retrying an acknowledged event after the crash gets a duplicate, not a second copy.
        for id in acked.prefix(20) {
            #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: id), to: newAddress) == 200)
        }
        try await restarted.stop()
        #expect(try reader.count() >= acked.count)
    }

    @Test("Concurrent deliveries of one event over sockets: one 202, the rest 200")
    func concurrentDuplicates() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let body = SampleEvents.subscriptionActivated(id: "evt_same")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for attempt in 0..<32 {
                group.addTask { try await fixture.post(body, to: address, messageID: "msg_\(attempt)") }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == 202 }.count == 1)
        #expect(statuses.filter { $0 == 200 }.count == 31)
        try await daemon.stop()
        #expect(try EventLogReader(path: fixture.storePath).count() == 1)
    }

    @Test("A declared oversized body is answered 413 without being read, and the daemon serves on")
    func oversizedBodyIsNotRead() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()

        let connection = try RawHTTPConnection(address: address)
        let headers = fixture.signer.headers(body: [])
        var request = "POST /webhooks/gigs HTTP/1.1\r\nHost: test\r\nContent-Length: 100000000\r\n"
        for field in headers { request += "\(field.name.rawName): \(field.value)\r\n" }
        request += "\r\n"
        #expect(connection.send(request))
        #expect(connection.send(Array(repeating: UInt8(ascii: "a"), count: 4096)))
        let started = ContinuousClock.now
        let (response, closed) = connection.readUntilClosed()
        #expect(response.hasPrefix("HTTP/1.1 413"))
        #expect(response.contains("payload_too_large"))
        #expect(closed)
        #expect(ContinuousClock.now - started < .seconds(5))

        #expect(try await fixture.get("/healthz", from: address) == 200)
        try await daemon.stop()
    }

    @Test("systemd hears READY=1 once listening and STOPPING=1 on SIGTERM; the exit is clean")
    func systemdNotifications() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let socket = try NotifySocket(path: fixture.directory.file("notify.sock"))
        let (daemon, address) = try await fixture.start(environment: ["NOTIFY_SOCKET": socket.path])
        try await socket.waitFor("READY=1")
        #expect(socket.messages.contains { $0.contains("STATUS=Listening on \(address)") })
        #expect(!socket.messages.contains { $0.contains("STOPPING=1") })
        // The store check and migrations get more than systemd's start timeout, announced before READY=1.
        let extend = socket.messages.firstIndex { $0.contains("EXTEND_TIMEOUT_USEC=600000000") }
        let ready = socket.messages.firstIndex { $0.contains("READY=1") }
        #expect(extend != nil && ready != nil && extend! < ready!)

        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_before_stop"), to: address) == 202)
        try await daemon.stop()
        try await socket.waitFor("STOPPING=1")
        #expect(try EventLogReader(path: fixture.storePath).count() == 1)
    }

    @Test("The CLI lists and shows events while the daemon runs")
    func cliWhileRunning() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        for id in ["evt_cli1", "evt_cli2"] {
            #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: id), to: address) == 202)
        }
        let sim = SampleEvents.body(id: "evt_cli3", type: "com.gigs.sim.created")
        #expect(try await fixture.post(sim, to: address) == 202)

        let list = try await fixture.cli(["events", "list", "--json"])
        #expect(list.status == 0)
        let array = try #require(try JSONSerialization.jsonObject(with: Data(list.output.utf8)) as? [[String: Any]])
        #expect(array.compactMap { $0["id"] as? String } == ["evt_cli3", "evt_cli2", "evt_cli1"])
        #expect(array.allSatisfy { $0["type"] is String && $0["receivedAt"] is String })

        let filtered = try await fixture.cli(["events", "list", "--type", "com.gigs.sim.created", "--limit", "5"])
        #expect(filtered.status == 0)
        #expect(filtered.output.contains("evt_cli3") && !filtered.output.contains("evt_cli1"))

        let show = try await fixture.cli(["events", "show", "evt_cli2", "--json"])
        #expect(show.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(show.output.utf8)) as? [String: Any])
        #expect(object["id"] as? String == "evt_cli2")
        #expect((object["event"] as? [String: Any])?["type"] as? String == "com.gigs.subscription.activated")

        let missing = try await fixture.cli(["events", "show", "evt_nope"])
        #expect(missing.status == 1)
        #expect(missing.output.contains("no stored event has id evt_nope"))

        try await daemon.stop()
    }

    @Test("A second serve on the same store refuses to start, clearly; the CLI works beside the first")
    func oneDaemonPerStore() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_first"), to: address) == 202)
        let second = try RelayProcess(
            arguments: ["serve", "--config", fixture.configPath], directory: fixture.directory.path,
            environment: fixture.environment)
        #expect(try await second.waitForExit() != 0)
        #expect(second.log.contains("another gigs-relay serve is already running on this store"))
        let listed = try await fixture.cli(["events", "list"])
        #expect(listed.status == 0 && listed.output.contains("evt_first"))
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_second"), to: address) == 202)
        try await daemon.stop()
        // Once the first has stopped, the store is free again.
        let (again, _) = try await fixture.start()
        try await again.stop()
    }

    @Test("serve runs PRAGMA quick_check at start and refuses a damaged store, pointing at the runbook")
    func corruptStore() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        for index in 0..<300 {
            let body = SampleEvents.subscriptionActivated(id: "evt_bulk_\(index)")
            #expect(try await fixture.post(body, to: address) == 202)
        }
        try await daemon.stop()
        // Overwrite a page in the middle of the file (not the header) with garbage.
        let file = try #require(FileHandle(forUpdatingAtPath: fixture.storePath))
        let size = try file.seekToEnd()
        try file.seek(toOffset: (size / 2) / 4096 * 4096)
        try file.write(contentsOf: Data(repeating: 0xA5, count: 4096))
        try file.close()
        let broken = try RelayProcess(
            arguments: ["serve", "--config", fixture.configPath], directory: fixture.directory.path,
            environment: fixture.environment)
        #expect(try await broken.waitForExit() != 0)
        #expect(broken.log.contains("the store failed PRAGMA quick_check"), "\(broken.log)")
        #expect(broken.log.contains("see docs/runbooks.md \"A corrupt store\""))
    }

    @Test("An event signed by an independent signer (the openssl CLI in deploy/send-test-event.sh) is accepted")
    func independentSigner() async throws {
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let (status, output) = try runTool(
            ["bash", Repository.path("deploy/send-test-event.sh"), "http://\(address)/webhooks/gigs", "evt_openssl"],
            environment: fixture.environment)
        #expect(status == 0)
        #expect(output.hasPrefix("HTTP/1.1 202"))
        #expect(output.contains(#"{"id":"evt_openssl","status":"accepted"}"#))
        try await daemon.stop()
        #expect(try EventLogReader(path: fixture.storePath).event(id: EventID("evt_openssl")) != nil)
    }

    @Test("The example configuration's development pipeline: the test event reaches the dev-log action")
    func developmentPipeline() async throws {
        // deploy/run-dev.sh runs the example from the repository root; here from a copy, on a free port.
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let example = try String(contentsOfFile: Repository.path("config/gigs-relay.example.toml"), encoding: .utf8)
        let config = try directory.write(
            "gigs-relay.toml",
            example.replacingOccurrences(of: #"listen = "127.0.0.1:8080""#, with: #"listen = "127.0.0.1:0""#))
        let secret = TestSigner.randomSecret()
        let token = "dev_" + UUID().uuidString
        let environment = ["GIGS_WEBHOOK_SECRET": secret, "GIGS_ADMIN_TOKEN": token]
        let daemon = try RelayProcess(
            arguments: ["serve", "--config", config], directory: directory.path, environment: environment)
        let address = try await daemon.listenAddress()
        let (status, output) = try runTool(
            [
                "bash", Repository.path("deploy/send-test-event.sh"), "http://\(address)/webhooks/gigs",
                "evt_dev_pipeline",
            ],
            environment: environment)
        #expect(status == 0 && output.hasPrefix("HTTP/1.1 202"))
        let deliveries = directory.file("var/dev-deliveries.jsonl")
        try await eventuallyAsync("the exec action appended the event") {
            (try? String(contentsOfFile: deliveries, encoding: .utf8))?.contains(#""id":"evt_dev_pipeline""#) == true
        }
        try await eventuallyAsync("deliveries list shows the delivery succeeded") {
            let listed = try await RelayProcess.run(
                ["deliveries", "list", "--config", config], directory: directory.path, environment: environment)
            return listed.output.contains("dev-log") && listed.output.contains("succeeded")
        }
        let line = try String(contentsOfFile: deliveries, encoding: .utf8).split(separator: "\n").first ?? ""
        #expect((try? JSONSerialization.jsonObject(with: Data(line.utf8))) != nil)
        // The console answers on the same listener.
        let fixture = try DaemonFixture()
        defer { fixture.directory.remove() }
        #expect(try await fixture.exchange("/console/sign-in", from: address).status == 200)
        try await daemon.stop()
    }

    @Test("A bad configuration exits 78 naming the key, without echoing secrets")
    func badConfiguration() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let literal = TestSigner.randomSecret()
        let config = try directory.write("bad.toml", "[webhook]\nsecrets = [\"\(literal)\"]\n")
        let result = try await RelayProcess.run(["serve", "--config", config], directory: directory.path)
        #expect(result.status == 78)
        #expect(result.output.contains("webhook.secrets[0]"))
        #expect(!result.output.contains(String(literal.dropFirst(6))))

        let unset = try directory.write("unset.toml", "[webhook]\nsecrets = [\"env:GIGS_RELAY_TEST_UNSET\"]\n")
        let missing = try await RelayProcess.run(["serve", "--config", unset], directory: directory.path)
        #expect(missing.status == 78)
        #expect(missing.output.contains("GIGS_RELAY_TEST_UNSET is not set"))
    }

    @Test("Logs at trace level never hold the secret, a signature, or any body content")
    func logsStayClean() async throws {
        let fixture = try DaemonFixture(logLevel: "trace")
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        let body = SampleEvents.subscriptionActivated(id: "evt_private")
        let messageID = "msg_private"
        #expect(try await fixture.post(body, to: address, messageID: messageID) == 202)
        #expect(try await fixture.post(body, to: address, messageID: messageID) == 200)
        let stranger = TestSigner(secret: TestSigner.randomSecret())
        #expect(try await fixture.post(body, to: address, signer: stranger) == 401)
        let malformed = Array(#"{"id":"evt_x","type":"com.gigs.x","data":{"email":"secret.person@example.com""#.utf8)
        #expect(try await fixture.post(malformed, to: address) == 400)
        try await daemon.stop()

        let log = daemon.log
        #expect(log.contains("Rejected webhook delivery"))  // the log did capture the failures
        let timestamp = Int64(Date().timeIntervalSince1970)
        let forbidden = [
            fixture.signer.encodedSecret, String(fixture.signer.encodedSecret.dropFirst(6)),
            String(fixture.signer.signature(id: messageID, timestamp: timestamp, body: body).dropFirst(3)),
            "jane@example.com", "Jane Doe", "secret.person@example.com", "sub_0SNlurA049MEWV2gSfSxi00xlPIi",
        ]
        for text in forbidden {
            #expect(!log.contains(text), "the log holds something it must not")
        }
    }
}
