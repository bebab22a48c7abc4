import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// Payloads sealed at rest (`[store] encryption_key`) with the real binary, on both backends.
@Suite("Encryption at rest (real binary)", .serialized)
struct EncryptionProcessTests {
    let secret = TestSigner.randomSecret()
    let token = "adm_" + UUID().uuidString

    /// Whether `bytes` hold `text`, as text or (as `pg_dump` writes bytea) as lowercase hex.
    static func holds(_ bytes: Data, _ text: String) -> Bool {
        bytes.range(of: Data(text.utf8)) != nil || bytes.range(of: Data(Array(text.utf8).lowercaseHexText.utf8)) != nil
    }

    @Test(
        "500 events with a unique email and name: not in the store's bytes, shown by the API and CLI, delivered",
        arguments: Backend.allCases)
    func sealedAtRest(backend: Backend) async throws {
        let key = StoreKey.random()
        let marker = UUID().uuidString.prefix(8).lowercased()
        let email = "enc-\(marker)@example.com"
        let name = "Zelda Q\(marker)"
        let receiver = try WebhookReceiver(secret: secret, statuses: "503 200")
        let scratch = TemporaryDirectory()
        defer { scratch.remove() }
        // Prints the body (the event's personal data) and fails its first run: an output and an error
        // that echo the payload.
        let script = try scratch.writeScript(
            "hook.sh",
            """
            cat
            [ -e "\(scratch.path)/ran" ] || { touch "\(scratch.path)/ran"; echo "refused \(email)" >&2; exit 75; }
            """)
        let fixture = try DaemonFixture(
            backend: backend,
            extraTOML: """
                [admin]
                token = "env:ADMIN_TOKEN"
                [dispatch]
                backoff_initial_ms = 50
                backoff_max_ms = 100
                [actions.backend]
                kind = "http"
                url = "\(receiver.url())"
                secret = "env:ACTION_SECRET"
                ordering = "subject"
                [actions.hook]
                kind = "exec"
                command = ["/bin/sh", "\(script)"]
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["backend"]
                [[routes]]
                events = ["com.gigs.subscription.activated"]
                actions = ["hook"]
                where = { "/id" = "evt_enc_0" }
                """,
            storeKey: key)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": secret, "ADMIN_TOKEN": token])
        let user = #"{"object":"user","id":"usr_enc","email":"\#(email)","fullName":"\#(name)"}"#
        let sim = #"{"object":"sim","id":"sim_enc","type":"eSIM"}"#
        for index in 0..<500 {
            let body = SampleEvents.subscription(
                id: "evt_enc_\(index)", subscription: "sub_enc_\(index % 20)", sim: sim, user: user)
            #expect(try await fixture.post(body, to: address) == 202)
        }
        try await eventuallyAsync(timeout: .seconds(120), "every delivery succeeded, the first after a retry") {
            let deliveries = try await fixture.deliveries(DeliveryFilter(limit: 1000))
            return deliveries.count == 501 && deliveries.allSatisfy { $0.status == .succeeded }
        }
        #expect(receiver.requests.count == 501)
        #expect(receiver.requests.allSatisfy { $0.body.contains(email) })

        // The operator's views open what the store seals: the API, the CLI, the attempts' texts.
        let bearer = ["Authorization": "Bearer \(token)"]
        let api = try await fixture.fetch("/api/v1/events/evt_enc_0", from: address, headers: bearer)
        #expect(api.status == 200 && api.body.contains(email) && api.body.contains(name))
        let shown = try await fixture.cli(["events", "show", "evt_enc_0"])
        #expect(shown.status == 0 && shown.output.contains(email), "\(shown.output)")
        let hook = try #require(try await fixture.deliveries(DeliveryFilter(action: "hook")).first)
        let attempts = try await fixture.attempts(of: hook.id)
        #expect(attempts.count == 2 && attempts[0].output?.contains(email) == true)
        #expect(attempts[0].error?.contains("exit") == true && attempts[1].output?.contains(name) == true)
        // A replay opens the stored body and delivers it again.
        let replay = try await fixture.cli(["replay", "evt_enc_7", "--action", "backend"])
        #expect(replay.status == 0, "\(replay.output)")
        _ = try await receiver.waitForRequests(502)
        #expect(receiver.requests.last?.body.contains(email) == true)

        // What the store holds: neither the email nor the name, in any form, anywhere.
        switch backend {
        case .sqlite:
            for file in [fixture.storePath, fixture.storePath + "-wal"] {
                let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
                #expect(!Self.holds(bytes, email) && !Self.holds(bytes, name), "\(file)")
                #expect(Self.holds(bytes, "evt_enc_499") || file.hasSuffix("-wal"), "ids stay in the clear")
            }
        case .postgresql:
            let url = try #require(fixture.postgres?.url)
            let dump = Data(
                try PostgresCluster.shared().dump(database: String(url.split(separator: "/").last ?? "")).utf8)
            #expect(!Self.holds(dump, email) && !Self.holds(dump, name))
            #expect(Self.holds(dump, "evt_enc_499") && Self.holds(dump, "usr_enc"), "ids stay in the clear")
        }

        // store copy keeps the rows sealed and lists their key: the copy opens with it, and only with it.
        try await daemon.stop()
        let copy = scratch.file("copy.sqlite3")
        let copied = try await RelayProcess.run(
            ["store", "copy", "--from", try fixture.location.description, "--to", copy]
                + (backend == .postgresql ? ["--from-password", "env:GIGS_STORE_PASSWORD"] : []),
            directory: fixture.directory.path, environment: fixture.environment)
        #expect(copied.status == 0, "\(copied.output)")
        let copyBytes = try Data(contentsOf: URL(fileURLWithPath: copy))
        #expect(!Self.holds(copyBytes, email) && Self.holds(copyBytes, "evt_enc_499"))
        let reader = try SQLiteConsole(path: copy, sealer: fixture.sealer)
        let opened = try await reader.event(id: EventID("evt_enc_3"))?.body ?? []
        #expect(String(decoding: opened, as: UTF8.self).contains(email))
        reader.close()
        #expect(throws: StoreError.self) { try SQLiteConsole(path: copy) }
    }

    @Test(
        "Without its key, or with another, the store refuses to start: exit 78 naming the key id",
        arguments: Backend.allCases)
    func missingKey(backend: Backend) async throws {
        let key = StoreKey.random()
        let fixture = try DaemonFixture(backend: backend, storeKey: key)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start()
        #expect(try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_key_1"), to: address) == 202)
        try await daemon.stop()
        let before = try await fixture.reading { try await $0.eventCount() }

        let other = StoreKey.random()
        let wrong = try RelayProcess(
            arguments: ["serve", "--config", fixture.configPath], directory: fixture.directory.path,
            environment: fixture.environment.merging(["GIGS_STORE_KEY": DaemonFixture.base64(other)]) { $1 })
        #expect(try await wrong.waitForExit() == 78)
        #expect(wrong.log.contains(key.id) && wrong.log.contains(other.id), "\(wrong.log)")
        #expect(!wrong.log.contains(DaemonFixture.base64(other)) && !wrong.log.contains(DaemonFixture.base64(key)))

        let plain = try fixture.directory.write(
            "plain.toml",
            try String(contentsOfFile: fixture.configPath, encoding: .utf8).replacingOccurrences(
                of: "encryption_key = \"env:GIGS_STORE_KEY\"", with: ""))
        let unkeyed = try RelayProcess(
            arguments: ["serve", "--config", plain], directory: fixture.directory.path, environment: fixture.environment
        )
        #expect(try await unkeyed.waitForExit() == 78)
        #expect(unkeyed.log.contains(key.id), "\(unkeyed.log)")
        let listed = try await RelayProcess.run(
            ["events", "list", "--config", plain], directory: fixture.directory.path, environment: fixture.environment)
        #expect(listed.status == 78 && listed.output.contains(key.id), "\(listed.output)")
        let check = try await fixture.cli(["config", "check"])
        #expect(check.output.contains("store encryption: on, sealing with key id \(key.id)"), "\(check.output)")
        #expect(!check.output.contains(DaemonFixture.base64(key)))

        // Nothing was written, and the right key still opens everything.
        #expect(try await fixture.reading { try await $0.eventCount() } == before)
        #expect(
            try await fixture.reading { try await $0.event(id: EventID("evt_key_1")) }?.body
                == SampleEvents.subscriptionActivated(id: "evt_key_1"))
    }
}

extension Array where Element == UInt8 {
    /// The bytes as lowercase hex digits.
    fileprivate var lowercaseHexText: String { map { String(format: "%02x", $0) }.joined() }
}
