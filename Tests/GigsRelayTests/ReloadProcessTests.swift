import Foundation
import GigsRelay
import GigsRelayTesting
import Testing

/// SIGHUP reloads and `config check`, against the real binary.
@Suite("Reload and config check (real binary)", .serialized)
struct ReloadProcessTests {
    let actionSecret = TestSigner.randomSecret()

    /// A whole configuration: the webhook secret read from `secretFile`, every event routed to `action`.
    func configuration(secretFile: String, action: String, receiver: WebhookReceiver, extra: String = "") -> String {
        """
        [server]
        listen = "127.0.0.1:0"
        \(extra)
        [store]
        path = "var/events.sqlite3"
        [webhook]
        secrets = ["file:\(secretFile)"]
        [actions.\(action)]
        kind = "http"
        url = "\(receiver.url("/\(action)"))"
        secret = "env:ACTION_SECRET"
        [[routes]]
        events = ["*"]
        actions = ["\(action)"]
        """
    }

    /// A fixture whose configuration reads its webhook secret from a file and routes everything to action
    /// `one`; returns it with the signer of that secret and the secret file's path.
    func prepare(_ receiver: WebhookReceiver) throws -> (DaemonFixture, TestSigner, String) {
        let fixture = try DaemonFixture()
        let signer = TestSigner(secret: TestSigner.randomSecret())
        let secretFile = try fixture.directory.write("webhook-secret", signer.encodedSecret)
        try configuration(secretFile: secretFile, action: "one", receiver: receiver)
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        return (fixture, signer, secretFile)
    }

    @Test("SIGHUP swaps secrets and routes at once; systemd hears RELOADING=1 then READY=1")
    func reloadSwaps() async throws {
        let receiver = try WebhookReceiver()
        let (fixture, oldSigner, secretFile) = try prepare(receiver)
        defer { fixture.directory.remove() }
        let newSigner = TestSigner(secret: TestSigner.randomSecret())
        let socket = try NotifySocket(path: fixture.directory.file("notify.sock"))
        let (daemon, address) = try await fixture.start(environment: [
            "ACTION_SECRET": actionSecret, "NOTIFY_SOCKET": socket.path,
        ])
        try await socket.waitFor("READY=1")
        let before = SampleEvents.subscriptionActivated(id: "evt_before")
        #expect(try await fixture.post(before, to: address, signer: oldSigner) == 202)
        #expect(try await receiver.waitForRequests(1).last?.path == "/one")

        _ = try fixture.directory.write("webhook-secret", newSigner.encodedSecret)
        try configuration(
            secretFile: secretFile, action: "two", receiver: receiver, extra: "idle_timeout_seconds = 45"
        ).write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await eventually("the reload") { daemon.log.contains("Configuration reloaded") }
        try await socket.waitFor("RELOADING=1")
        #expect(socket.messages.last { $0.contains("RELOADING=1") }?.contains("MONOTONIC_USEC=") == true)
        try await eventually("READY=1 after the reload") {
            let messages = socket.messages
            guard let reloading = messages.lastIndex(where: { $0.contains("RELOADING=1") }) else { return false }
            return messages[reloading...].contains { $0.contains("READY=1") }
        }
        // The log arrives over a pipe, the notifications over a socket: wait for the line, not for order.
        try await eventually("the restart-only key is named") {
            daemon.log.contains("relay.config.key=server.idle_timeout_seconds")
        }

        let after = SampleEvents.subscriptionActivated(id: "evt_after")
        #expect(try await fixture.post(after, to: address, signer: oldSigner) == 401)
        #expect(try await fixture.post(after, to: address, signer: newSigner) == 202)
        #expect(try await receiver.waitForRequests(2).last?.path == "/two")
        #expect(!daemon.log.contains(newSigner.encodedSecret))
        try await daemon.stop()
    }

    @Test("A reload that removes an action leaves its queued deliveries pending, says so, and delivers them once back")
    func removedActionKeepsDeliveries() async throws {
        let receiver = try WebhookReceiver(statuses: "503")
        let (fixture, signer, secretFile) = try prepare(receiver)
        defer { fixture.directory.remove() }
        // Retried often, and never dead however slowly the reload comes (8 attempts take about a second).
        let fast = "[dispatch]\nbackoff_initial_ms = 100\nbackoff_max_ms = 100\nmax_attempts = 1000\n"
        try (configuration(secretFile: secretFile, action: "one", receiver: receiver) + "\n" + fast)
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])
        #expect(
            try await fixture.post(SampleEvents.subscriptionActivated(id: "evt_kept"), to: address, signer: signer)
                == 202)
        _ = try await receiver.waitForRequests(1)

        // Rename the action: "one" is gone.
        try (configuration(secretFile: secretFile, action: "two", receiver: receiver) + "\n" + fast)
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await eventually("the reload") { daemon.log.contains("Configuration reloaded") }
        // Logged just after "Configuration reloaded": the two lines may reach the test apart.
        try await eventually("the removed action's warning") {
            daemon.log.contains("An action was removed; its queued deliveries stay pending")
        }
        #expect(daemon.log.contains("relay.action=one"))
        try await eventuallyAsync("readiness to name the orphaned action") {
            let (status, body) = try await fixture.fetch("/readyz", from: address)
            return status == 503 && body.contains("not configured (one)")
        }
        let requestsBefore = receiver.requests.count
        try await Task.sleep(for: .milliseconds(500))  // several backoff periods
        let kept = try #require(
            try await fixture.deliveries(DeliveryFilter(action: "one")).first)
        #expect(kept.status == .failed || kept.status == .pending)
        #expect(receiver.requests.count == requestsBefore)

        // Bring it back: the queued delivery goes out.
        try receiver.setStatuses("200")
        try (configuration(secretFile: secretFile, action: "one", receiver: receiver) + "\n" + fast)
            .write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
        daemon.signal(SIGHUP)
        try await eventuallyAsync("the kept delivery to succeed") {
            try await fixture.deliveries(DeliveryFilter(action: "one")).first?.status
                == .succeeded
        }
        #expect(try await fixture.get("/readyz", from: address) == 200)
        try await daemon.stop()
    }

    @Test("A reload with a bad file logs why and keeps serving with the running configuration")
    func badReloadKeepsServing() async throws {
        let receiver = try WebhookReceiver()
        let (fixture, signer, secretFile) = try prepare(receiver)
        defer { fixture.directory.remove() }
        let (daemon, address) = try await fixture.start(environment: ["ACTION_SECRET": actionSecret])

        for broken in [
            "[server\nlisten = ",
            configuration(secretFile: secretFile, action: "one", receiver: receiver)
                .replacingOccurrences(of: "actions = [\"one\"]", with: "actions = [\"missing\"]"),
            configuration(secretFile: fixture.directory.file("no-such-secret"), action: "one", receiver: receiver),
        ] {
            let rejections = daemon.log.components(separatedBy: "keeping the running one").count
            try broken.write(toFile: fixture.configPath, atomically: true, encoding: .utf8)
            daemon.signal(SIGHUP)
            try await eventually("the refused reload") {
                daemon.log.components(separatedBy: "keeping the running one").count > rejections
            }
        }
        #expect(daemon.log.contains(#"unknown action "missing""#))
        let event = SampleEvents.subscriptionActivated(id: "evt_still")
        #expect(try await fixture.post(event, to: address, signer: signer) == 202)
        #expect(try await receiver.waitForRequests(1).last?.path == "/one")
        #expect(daemon.isRunning)
        try await daemon.stop()
    }

    @Test("config check prints the effective configuration with references only, and exits 1 naming a bad key")
    func configCheck() async throws {
        let receiver = try WebhookReceiver()
        let (fixture, signer, secretFile) = try prepare(receiver)
        defer { fixture.directory.remove() }
        let valid = try await RelayProcess.run(
            ["config", "check", "--config", fixture.configPath], directory: fixture.directory.path,
            environment: ["ACTION_SECRET": actionSecret])
        #expect(valid.status == 0, "\(valid.output)")
        #expect(valid.output.contains("secrets = [\"file:\(secretFile)\"]"))
        #expect(valid.output.contains("[actions.one]"))
        #expect(valid.output.contains("max_attempts = 8"))
        #expect(!valid.output.contains(signer.encodedSecret))
        #expect(!valid.output.contains(actionSecret))

        let missing = try await RelayProcess.run(
            ["config", "check", "--config", fixture.configPath], directory: fixture.directory.path)
        #expect(missing.status == 1)
        #expect(missing.output.contains("actions.one.secret"))
    }
}
