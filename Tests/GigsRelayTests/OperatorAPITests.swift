import Foundation
import GigsRelay
import GigsRelayTesting
import NIOHTTP1
import Testing

/// The operators' JSON API (`/api/v1`) with the real binary, a real receiver, on both store backends.
@Suite("Operator API (real binary)", .serialized)
struct OperatorAPITests {
    let secret = TestSigner.randomSecret()
    let token = "adm_" + UUID().uuidString

    /// A JSON object from an API answer.
    func object(_ body: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
    }

    @Test(
        "Without the token nothing answers; with it events, cursors, redaction, retry, replay, pause",
        arguments: Backend.allCases)
    func api(backend: Backend) async throws {
        let receiver = try WebhookReceiver(secret: secret, statuses: "410 200")
        let fixture = try DaemonFixture.httpBackend(
            receiver, action: "max_concurrency = 1",
            extra: """
                [admin]
                token = "env:ADMIN_TOKEN"
                redact = ["/data/user/email", "/data/user/fullName"]
                """,
            events: #"["com.gigs.subscription.*"]"#, backend: backend)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret, "ADMIN_TOKEN": token])
        let bearer = ["Authorization": "Bearer \(token)"]
        func api(_ path: String, _ method: HTTPMethod = .GET) async throws -> (status: Int, body: String) {
            try await fixture.fetch("/api/v1" + path, from: address, method: method, headers: bearer)
        }

        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_api_dead"), to: address) == 202)
        _ = try await receiver.waitForRequests(1)
        for index in 0..<4 {
            #expect(
                try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_api_\(index)"), to: address) == 202)
        }
        try await eventuallyAsync("the first delivery is dead, the others delivered") {
            let deliveries = try object(try await api("/deliveries").body)["deliveries"] as? [[String: Any]] ?? []
            return deliveries.filter { $0["status"] as? String == "dead" }.count == 1
                && deliveries.filter { $0["status"] as? String == "succeeded" }.count == 4
        }

        // No token, a wrong one, or another scheme: 401, and the token is never logged.
        for headers in [[:], ["Authorization": "Bearer nope"], ["Authorization": "Basic \(token)"]] {
            for (path, method) in [("/api/v1/events", HTTPMethod.GET), ("/api/v1/actions/backend/pause", .POST)] {
                let (status, body) = try await fixture.fetch(path, from: address, method: method, headers: headers)
                #expect(status == 401 && body.contains("unauthorized"), "\(path) answered \(status)")
            }
        }
        #expect(
            (try object(try await api("/actions").body)["actions"] as? [[String: Any]])?.first?["paused"] as? Bool
                == false)

        // Pages of two, newest first, by cursor.
        var ids: [String] = []
        var next: String? = nil
        repeat {
            let page = try object(try await api("/events?limit=2" + (next.map { "&after=\($0)" } ?? "")).body)
            ids += (page["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            next = page["next"] as? String
        } while next != nil
        #expect(ids == ["evt_api_3", "evt_api_2", "evt_api_1", "evt_api_0", "evt_api_dead"])
        #expect(try await api("/events?limit=0").status == 400)
        #expect(try await api("/deliveries?status=blocked").status == 200)
        #expect(try await api("/deliveries?status=nope").status == 400)
        #expect(try await api("/events?since=yesterday").status == 400)

        // One event: the stored JSON with personal fields masked, its routes, deliveries and attempts.
        let (status, body) = try await api("/events/evt_api_dead")
        #expect(status == 200)
        #expect(!body.contains("jane@example.com") && !body.contains("Jane Doe"))
        let event = try object(body)
        let user = ((event["event"] as? [String: Any])?["data"] as? [String: Any])?["user"] as? [String: Any]
        #expect(user?["email"] as? String == "[redacted]" && user?["id"] as? String != nil)
        #expect((event["routes"] as? [[String: Any]])?.first?["actions"] as? [String] == ["backend"])
        let delivery = try #require((event["deliveries"] as? [[String: Any]])?.first)
        #expect(delivery["status"] as? String == "dead")
        #expect((delivery["lastError"] as? String)?.contains("410") == true)
        #expect((delivery["attempts"] as? [[String: Any]])?.count == 1)
        #expect(try await api("/events/evt_none").status == 404)

        // Retry the dead one: it succeeds against the receiver. A second retry does not apply.
        let deadID = try #require(delivery["id"] as? String)
        #expect(try await api("/deliveries/\(deadID)/retry", .POST).status == 200)
        try await eventuallyAsync("the retried delivery succeeded") {
            let deliveries = try object(try await api("/deliveries?status=succeeded").body)["deliveries"]
            return (deliveries as? [[String: Any]])?.contains { $0["id"] as? String == deadID } == true
        }
        #expect(try await api("/deliveries/\(deadID)/retry", .POST).status == 409)
        #expect(try await api("/deliveries/nope/skip", .POST).status == 400)

        // Replay to every routed action; pause and resume.
        let replayed = try object(try await api("/events/evt_api_0/replay", .POST).body)
        #expect((replayed["deliveries"] as? [[String: Any]])?.count == 1)
        _ = try await receiver.waitForRequests(7)
        #expect(try object(try await api("/actions/backend/pause", .POST).body)["changed"] as? Bool == true)
        let actions = try object(try await api("/actions").body)["actions"] as? [[String: Any]]
        #expect(actions?.first?["paused"] as? Bool == true && actions?.first?["kind"] as? String == "http")
        #expect(actions?.first?["pausedAt"] as? String != nil)
        // The CLI's `actions --json` and the API show the same object: the same keys, the same values.
        let (_, listed) = try await fixture.cli(["actions", "list", "--json"])
        let cliActions = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[String: Any]])
        #expect(cliActions.map { Set($0.keys) } == actions?.map { Set($0.keys) })
        #expect(
            Set(cliActions.first?.keys.map { $0 } ?? []) == [
                "name", "kind", "paused", "pausedAt", "circuit", "circuitSince", "circuitError", "inFlight",
                "pending", "dead", "lastError",
            ])
        #expect(cliActions.first?["pausedAt"] as? String == actions?.first?["pausedAt"] as? String)
        #expect(try await api("/actions/backend/resume", .POST).status == 200)
        #expect(try await api("/actions/nope/pause", .POST).status == 404)

        #expect(try await fixture.fetch("/metrics", from: address).body.contains(#"route="api""#))
        try await daemon.stop()
        #expect(daemon.log.contains("Operator change"))
        #expect(daemon.log.contains("relay.change=retry") && daemon.log.contains("relay.change=replay"))
        #expect(!daemon.log.contains(token))
    }

    @Test(
        "Cursor pages walk 100,000 events newest first, whole and by type and id prefix, on both backends",
        .timeLimit(.minutes(10)), arguments: Backend.allCases)
    func pagination(backend: Backend) async throws {
        // The ThreadSanitizer run (ten times slower) walks 2,000, appended 50 at a time: a thousand appends
        // in flight at once stalled that run twice.
        let sanitizing = ProcessInfo.processInfo.environment["GIGS_RELAY_TSAN"] == "1"
        let count = sanitizing ? 2_000 : 100_000
        let inFlight = sanitizing ? 50 : 1000
        let fixture = try DaemonFixture(backend: backend, extraTOML: "[admin]\ntoken = \"env:ADMIN_TOKEN\"")
        defer { fixture.directory.remove() }

        // Fill the store the way ingest does, before the daemon starts: every tenth event is a group's.
        let signer = fixture.signer
        try await fixture.seed { log in
            for chunk in stride(from: 0, to: count, by: inFlight) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in chunk..<min(chunk + inFlight, count) {
                        let type =
                            index % 10 == 0
                            ? "com.gigs.subscriptionGroup.created" : "com.gigs.subscription.activated"
                        let event = try signer.verifiedEvent(id: String(format: "evt_page_%06d", index), type: type)
                        group.addTask { _ = try await log.append(event, actions: []) }
                    }
                    try await group.waitForAll()
                }
            }
        }

        let (daemon, address) = try await fixture.start(environment: ["ADMIN_TOKEN": token])
        func walk(_ filter: String) async throws -> [(sequence: Int, id: String, type: String)] {
            var rows: [(Int, String, String)] = []
            var next: String? = nil
            repeat {
                let path = "/api/v1/events?limit=1000\(filter)" + (next.map { "&after=\($0)" } ?? "")
                let (status, body) = try await fixture.fetch(
                    path, from: address, headers: ["Authorization": "Bearer \(token)"])
                #expect(status == 200)
                let page = try object(body)
                for event in page["events"] as? [[String: Any]] ?? [] {
                    rows.append(
                        (event["sequence"] as? Int ?? 0, event["id"] as? String ?? "", event["type"] as? String ?? ""))
                }
                next = page["next"] as? String
            } while next != nil
            return rows
        }
        let all = try await walk("")
        #expect(all.count == count)
        #expect(Set(all.map(\.id)).count == count)
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.sequence > $1.sequence })
        let groups = try await walk("&type=com.gigs.subscriptionGroup.created")
        #expect(groups.count == count / 10 && groups.allSatisfy { $0.type == "com.gigs.subscriptionGroup.created" })
        #expect(zip(groups, groups.dropFirst()).allSatisfy { $0.sequence > $1.sequence })
        let prefixed = try await walk("&idPrefix=evt_page_0001")
        // (Appended concurrently, ids and sequence numbers need not share an order.)
        #expect(prefixed.map(\.id).sorted() == (100..<200).map { String(format: "evt_page_%06d", $0) })
        #expect(zip(prefixed, prefixed.dropFirst()).allSatisfy { $0.sequence > $1.sequence })
        #expect(try await walk("&idPrefix=evt_nothing").isEmpty)
        // A prefix every event shares (SQLite walks the log for it rather than sort the id index's matches).
        let shared = try await walk("&idPrefix=evt_page_&type=com.gigs.subscriptionGroup.created")
        #expect(shared.map(\.id) == groups.map(\.id))
        try await daemon.stop()
    }

    @Test("A listener that is not loopback needs admin.token; loopback, a Unix socket or a token do not")
    func tokenRequired() throws {
        for (toml, refused) in [
            ("[server]\nlisten = \"0.0.0.0:8080\"", true),
            ("[server]\nlisten = \"0.0.0.0:8080\"\n[admin]\nlisten = \"127.0.0.1:9464\"", false),
            ("[server]\nlisten = \"127.0.0.1:8080\"\n[admin]\nlisten = \"[::]:9464\"", true),
            ("[server]\nlisten = \"0.0.0.0:8080\"\n[admin]\ntoken = \"credential:admin-token\"", false),
            ("[server]\nlisten = \"unix:/run/gigs-relay.sock\"", false),
            ("[server]\nlisten = \"[::1]:8080\"", false),
        ] {
            let full = toml + "\n[webhook]\nsecrets = [\"env:A\"]"
            if refused {
                let error = #expect(throws: ConfigurationError.self) { try RelayConfiguration(toml: full) }
                #expect(error?.key == "admin.token", "\(toml)")
            } else {
                #expect(throws: Never.self) { try RelayConfiguration(toml: full) }
            }
        }
        #expect(throws: ConfigurationError.self) {
            try RelayConfiguration(toml: "[admin]\nredact = [\"data/user\"]\n[webhook]\nsecrets = [\"env:A\"]")
        }
    }
}
