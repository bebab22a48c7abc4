import Foundation
import GigsRelay
import GigsRelayTesting
import NIOHTTP1
import Testing

/// Erasure when Gigs deletes a user (`[privacy] erase_on_user_deleted`), with the real binary, on both
/// backends, with encryption off and on.
@Suite("Erasure (real binary)", .serialized)
struct ErasureProcessTests {
    let secret = TestSigner.randomSecret()
    let token = "adm_" + UUID().uuidString

    @Test(
        "user.deleted for a user with 20 events: their email and name are nowhere in the store, others untouched",
        arguments: Backend.allCases, [false, true])
    func userDeleted(backend: Backend, encrypted: Bool) async throws {
        let marker = UUID().uuidString.prefix(8).lowercased()
        let (email, name) = ("gone-\(marker)@example.com", "Erin Q\(marker)")
        let (kept, keptName) = ("kept-\(marker)@example.com", "Kim Q\(marker)")
        let receiver = try WebhookReceiver(secret: secret)
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        let hook = try scratch.writeScript("hook.sh", "cat\necho \"mailed \(email)\" >&2\nexit 75")
        let fixture = try DaemonFixture(
            backend: backend,
            extraTOML: """
                [admin]
                token = "env:ADMIN_TOKEN"
                [dispatch]
                max_attempts = 2
                backoff_initial_ms = 50
                backoff_max_ms = 100
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [actions.held]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                [actions.hook]
                kind = "exec"
                command = ["/bin/sh", "\(hook)"]
                [[routes]]
                events = ["com.gigs.*"]
                actions = ["backend"]
                [[routes]]
                events = ["com.gigs.subscription.*"]
                actions = ["held"]
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["hook"]
                where = { "/data/id" = "sub_gone_0" }
                """,
            storeKey: encrypted ? StoreKey.random() : nil)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret, "ADMIN_TOKEN": token])
        #expect(try await fixture.cli(["actions", "pause", "held"]).status == 0)
        func user(_ id: String, _ email: String, _ name: String) -> String {
            #"{"object":"user","id":"\#(id)","email":"\#(email)","fullName":"\#(name)"}"#
        }
        let sim = #"{"object":"sim","id":"sim_e","type":"eSIM"}"#
        for index in 0..<20 {
            let body = SampleEvents.subscription(
                id: "evt_gone_\(index)", subscription: "sub_gone_\(index)", sim: sim,
                user: user("usr_gone", email, name))
            #expect(try await fixture.post(body, to: address) == 202)
        }
        for index in 0..<5 {
            let body = SampleEvents.subscription(
                id: "evt_kept_\(index)", subscription: "sub_kept_\(index)", sim: sim,
                user: user("usr_kept", kept, keptName))
            #expect(try await fixture.post(body, to: address) == 202)
        }
        try await eventuallyAsync("the backend's deliveries succeeded, the hook's is dead") {
            let deliveries = try await fixture.deliveries(DeliveryFilter(limit: 1000))
            return deliveries.filter { $0.action == "backend" && $0.status == .succeeded }.count == 25
                && deliveries.contains { $0.action == "hook" && $0.status == .dead }
        }
        let hookDelivery = try #require(try await fixture.deliveries(DeliveryFilter(action: "hook")).first)
        #expect(try await fixture.attempts(of: hookDelivery.id).first?.output?.contains(email) == true)

        // Gigs deletes the user: the deletion carries the user too.
        let deleted = Array(
            #"""
            {"object":"event","id":"evt_user_deleted","type":"com.gigs.user.deleted","project":"dev-project",\#
            "specversion":"1.0","time":"2026-11-24T10:00:00Z","data":\#(user("usr_gone", email, name))}
            """#.utf8)
        #expect(try await fixture.post(deleted, to: address) == 202)
        let bearer = ["Authorization": "Bearer \(token)"]
        func api(_ path: String, _ method: HTTPMethod = .GET) async throws -> (status: Int, body: String) {
            try await fixture.fetch("/api/v1" + path, from: address, method: method, headers: bearer)
        }
        try await eventuallyAsync("the user's 21 events are erased, the deletion's after its delivery") {
            let page = try JSONSerialization.jsonObject(
                with: Data(try await api("/events?user=usr_gone&limit=100").body.utf8))
            let events = (page as? [String: Any])?["events"] as? [[String: Any]] ?? []
            return events.count == 21 && events.allSatisfy { $0["erasedAt"] is String }
        }
        #expect(receiver.requests.contains { $0.body.contains("evt_user_deleted") })

        // The store's history stays; the payloads, texts and pending deliveries do not.
        let deliveries = try await fixture.deliveries(DeliveryFilter(limit: 1000))
        let held = deliveries.filter { $0.action == "held" }
        #expect(held.filter { $0.eventID.rawValue.hasPrefix("evt_gone_") }.allSatisfy { $0.status == .skipped })
        #expect(held.filter { $0.eventID.rawValue.hasPrefix("evt_gone_") }.count == 20)
        #expect(held.filter { $0.eventID.rawValue.hasPrefix("evt_kept_") }.allSatisfy { $0.status == .pending })
        #expect(
            held.first { $0.eventID.rawValue.hasPrefix("evt_gone_") }?.lastError?.contains("user was deleted") == true)
        let hookAttempts = try await fixture.attempts(of: hookDelivery.id)
        #expect(hookAttempts.count == 2 && hookAttempts.allSatisfy { $0.output == nil && $0.error == "(erased)" })
        let shown = try await api("/events/evt_gone_3")
        #expect(shown.status == 200 && !shown.body.contains(email) && shown.body.contains("erased"), "\(shown.body)")
        #expect(try await api("/events/evt_kept_3").body.contains(kept))
        #expect(try await api("/events/evt_gone_3/replay", .POST).status == 409)
        let replay = try await fixture.cli(["replay", "evt_gone_4"])
        #expect(replay.status != 0 && replay.output.contains("erased"), "\(replay.output)")
        let listed = try await fixture.cli(["events", "show", "evt_gone_5"])
        #expect(listed.status == 0 && listed.output.contains("erased") && !listed.output.contains(email))
        #expect(daemon.log.contains("usr_gone") && !daemon.log.contains(email) && !daemon.log.contains(name))

        // Nowhere in the store's bytes; the other user's data is there (in the clear without a key).
        switch backend {
        case .sqlite:
            for file in [fixture.storePath, fixture.storePath + "-wal"] {
                guard let bytes = FileManager.default.contents(atPath: file) else { continue }
                #expect(
                    !EncryptionProcessTests.holds(bytes, email) && !EncryptionProcessTests.holds(bytes, name), "\(file)"
                )
            }
        case .postgresql:
            let url = try #require(fixture.postgres?.url)
            let dump = Data(
                try PostgresCluster.shared().dump(database: String(url.split(separator: "/").last ?? "")).utf8)
            #expect(!EncryptionProcessTests.holds(dump, email) && !EncryptionProcessTests.holds(dump, name))
            #expect(EncryptionProcessTests.holds(dump, kept) == !encrypted)
        }
        try await daemon.stop()
        if backend == .sqlite {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture.storePath))
            #expect(
                !EncryptionProcessTests.holds(bytes, email) && EncryptionProcessTests.holds(bytes, kept) == !encrypted)
        }

        // erase --user by hand: counts first, then erases; then nothing is left to erase.
        let count = try await fixture.cli(["erase", "--user", "usr_kept", "--json"])
        #expect(
            count.status == 0 && count.output.filter { !$0.isWhitespace }.contains(#""events":5"#), "\(count.output)")
        #expect(try await fixture.cli(["erase", "--user", "usr_kept", "--yes"]).status == 0)
        #expect(try await fixture.cli(["erase", "--user", "usr_kept", "--yes"]).status == 2)
    }
}
